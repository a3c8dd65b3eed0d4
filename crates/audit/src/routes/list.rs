//! `GET /api/audit`: the caller's entries, newest first, filtered and paged by keyset cursor.
//!
//! The cursor is opaque to clients (base64url JSON of the last entry's `occurred_at` and id);
//! the next page is `(occurred_at, id) < cursor`, so pages never skip or repeat entries while new
//! ones are appended. Unknown
//! parameters and malformed values are a 400, never ignored.

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use common::auth::AuthUser;
use common::error::ApiError;
use common::events::topics;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::journal::{ListFilter, StoredEntry};
use crate::startup::AppState;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// One audit entry as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The recorded event.
    pub event_id: Uuid,
    /// The topic (`task-created`, …).
    pub event_type: String,
    /// The task the event is about.
    pub task_id: Option<Uuid>,
    /// Who made the change.
    pub actor: String,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// When the audit service recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Field → before/after, for updates.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<Value>,
    /// The task after the change.
    #[schema(value_type = Option<Object>)]
    pub snapshot: Option<Value>,
    /// The previous entry's hash (`null` for the first).
    pub prev_hash: Option<String>,
    /// This entry's hash.
    pub hash: String,
}

impl From<StoredEntry> for AuditEntry {
    fn from(row: StoredEntry) -> Self {
        Self {
            event_id: row.entry.event_id,
            event_type: row.entry.event_type,
            task_id: row.entry.task_id,
            actor: row.entry.actor,
            occurred_at: row.entry.occurred_at,
            recorded_at: row.entry.recorded_at,
            changes: row.entry.changes,
            snapshot: row.entry.snapshot,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

/// One page of entries.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// The entries of this page, newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    t: DateTime<Utc>,
    id: i64,
}

fn invalid(param: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_query", format!("{param}: {problem}"))
}

fn parse_time(param: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| invalid(param, format!("an RFC 3339 time ({e})")))
}

fn decode_cursor(raw: &str) -> Result<(DateTime<Utc>, i64), ApiError> {
    let cursor: Cursor = common::cursor::decode(raw)?;
    if cursor.id <= 0 {
        return Err(common::cursor::invalid());
    }
    Ok((cursor.t, cursor.id))
}

fn encode_cursor(t: DateTime<Utc>, id: i64) -> String {
    common::cursor::encode(&Cursor { t, id })
}

/// Parses the query string into a filter and a page size.
fn parse_query(raw: Option<&str>) -> Result<(ListFilter, i64), ApiError> {
    let mut filter = ListFilter::default();
    let mut limit = DEFAULT_LIMIT;
    let mut seen = Vec::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let (name, value) = (name.as_ref(), value.as_ref());
        if seen.contains(&name.to_owned()) {
            return Err(invalid(name, "given more than once"));
        }
        seen.push(name.to_owned());
        match name {
            "task_id" => {
                filter.task_id = Some(value.parse().map_err(|_| invalid(name, "a UUID"))?);
            }
            "event_type" => {
                if !topics::TASK_TOPICS.contains(&value) {
                    return Err(invalid(name, topics::TASK_TOPICS.join(", ")));
                }
                filter.event_type = Some(value.to_owned());
            }
            "since" => filter.since = Some(parse_time(name, value)?),
            "until" => filter.until = Some(parse_time(name, value)?),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| invalid(name, format!("an integer from 1 to {MAX_LIMIT}")))?;
            }
            "cursor" => filter.before = Some(decode_cursor(value)?),
            other => return Err(invalid(other, "unknown parameter")),
        }
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since > until
    {
        return Err(invalid("since", "must not be after until"));
    }
    Ok((filter, limit))
}

/// The query of `GET /api/audit` (documentation: the handler reads the raw query string, so
/// that a repeated or unknown parameter is a 400, never ignored).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditQuery {
    /// Only this task's entries.
    task_id: Option<Uuid>,
    /// Only this kind of event.
    #[param(value_type = Option<String>, pattern = "^task-(created|updated|completed|deleted)$")]
    event_type: Option<String>,
    /// Entries that happened at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Entries that happened at or before this time (RFC 3339); not before `since`.
    until: Option<DateTime<Utc>>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page (opaque).
    cursor: Option<String>,
}

/// Lists the caller's audit entries, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn list_entries(
    State(state): State<AppState>,
    user: AuthUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    let (filter, limit) = parse_query(raw.as_deref())?;
    let mut rows = crate::journal::list(&state.pool, &user.user_id, &filter, limit + 1).await?;
    let next_cursor = common::cursor::next_page(&mut rows, limit, |last| {
        encode_cursor(last.entry.occurred_at, last.id)
    });
    Ok(Json(AuditPage {
        items: rows.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursors_round_trip_and_forged_ones_are_refused() {
        let at = chrono::Utc::now();
        assert_eq!(decode_cursor(&encode_cursor(at, 42)).unwrap(), (at, 42));
        for forged in [
            "",
            "not-base64!",
            "eyJpZCI6LTF9",
            "bnVsbA",
            "eyJpZCI6ImEifQ",
        ] {
            assert!(decode_cursor(forged).is_err(), "{forged}");
        }
    }

    #[test]
    fn the_query_accepts_every_filter_and_refuses_unknown_or_repeated_parameters() {
        let (filter, limit) = parse_query(Some(
            "task_id=00000000-0000-0000-0000-000000000007&event_type=task-updated&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00%2B01:00&limit=5",
        ))
        .unwrap();
        assert_eq!(limit, 5);
        assert_eq!(filter.task_id, Some(Uuid::from_u128(7)));
        assert_eq!(filter.event_type.as_deref(), Some("task-updated"));
        for bad in [
            "foo=1",
            "limit=0",
            "limit=201",
            "limit=x",
            "task_id=nope",
            "event_type=reminder-due",
            "since=yesterday",
            "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "limit=1&limit=2",
        ] {
            assert!(parse_query(Some(bad)).is_err(), "{bad}");
        }
    }
}
