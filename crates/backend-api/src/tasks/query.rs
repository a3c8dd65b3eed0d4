//! The task list query: filter, search, sort and keyset pagination (`GET /api/tasks`, the
//! assistant's `list_tasks`, saved views). `due=today|upcoming|overdue` reads the day in the
//! caller's `timezone` by the database's clock, so no client computes a local midnight.
//!
//! The cursor is opaque to clients (base64url JSON of the sort, the last row's sort key as
//! Postgres renders it, and its id). The next page is `(sort_key, id) > (cursor)` in the sort's
//! direction, so pages never skip or repeat rows when tasks are added meanwhile. A cursor whose
//! key Postgres cannot read (data exception, class 22) is answered 400, never 500.

use chrono::{DateTime, Utc};
use common::error::ApiError;
use common::tasks::{Priority, Task, TaskStatus};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{normalize_tags, storable};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
const MAX_QUERY_LEN: usize = 200;

/// One page of tasks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    /// The tasks of this page.
    pub items: Vec<Task>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    DueDate,
    Priority,
    CreatedAt,
    UpdatedAt,
    Title,
}

impl SortKey {
    fn parse(raw: &str) -> Option<(Self, bool)> {
        let (name, descending) = match raw.strip_prefix('-') {
            Some(name) => (name, true),
            None => (raw, false),
        };
        let key = match name {
            "due_date" => Self::DueDate,
            "priority" => Self::Priority,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "title" => Self::Title,
            _ => return None,
        };
        Some((key, descending))
    }

    /// The SQL sort expression and the type its cursor value is cast back to. Tasks without a
    /// due date sort last in both directions.
    fn expression(self, descending: bool) -> (&'static str, &'static str) {
        match (self, descending) {
            (Self::DueDate, false) => {
                ("coalesce(due_date, 'infinity'::timestamptz)", "timestamptz")
            }
            (Self::DueDate, true) => (
                "coalesce(due_date, '-infinity'::timestamptz)",
                "timestamptz",
            ),
            (Self::Priority, _) => ("priority_rank", "smallint"),
            (Self::CreatedAt, _) => ("created_at", "timestamptz"),
            (Self::UpdatedAt, _) => ("updated_at", "timestamptz"),
            (Self::Title, _) => ("lower(title)", "text"),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    s: String,
    k: String,
    id: Uuid,
}

/// How several `tag` parameters combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagMode {
    /// Tasks carrying every tag (the default).
    #[default]
    All,
    /// Tasks carrying at least one of them.
    Any,
}

/// The due-date views of the app, read in the caller's time zone by the database's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DueView {
    /// Due from today's local midnight to tomorrow's.
    Today,
    /// Due from today's local midnight until seven days later.
    Upcoming,
    /// Due before now.
    Overdue,
}

/// A validated list request: filters, sort, page size and cursor.
#[derive(Debug)]
pub struct ListQuery {
    status: Option<TaskStatus>,
    priority: Option<Priority>,
    tags: Vec<String>,
    tag_mode: TagMode,
    due: Option<DueView>,
    timezone: String,
    q: Option<String>,
    due_before: Option<DateTime<Utc>>,
    due_after: Option<DateTime<Utc>>,
    sort: String,
    limit: i64,
    cursor: Option<Cursor>,
}

fn invalid(param: &str, problem: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_query", format!("{param}: {problem}"))
}

/// A time to filter on: RFC 3339, in the years a task's times may take.
fn time(param: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let at: DateTime<Utc> = value.parse().map_err(|e| invalid(param, e))?;
    if !storable(at) {
        return Err(invalid(param, "a time between the years 1 and 9999 (UTC)"));
    }
    Ok(at)
}

fn parse_enum<T: for<'de> Deserialize<'de>>(param: &str, value: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| invalid(param, "unknown value"))
}

impl ListQuery {
    /// Parses and validates a `GET /api/tasks` query string.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut query = Self {
            status: None,
            priority: None,
            tags: Vec::new(),
            tag_mode: TagMode::All,
            due: None,
            timezone: "UTC".to_owned(),
            q: None,
            due_before: None,
            due_after: None,
            sort: "created_at".to_owned(),
            limit: DEFAULT_LIMIT,
            cursor: None,
        };
        let mut raw_tags = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.as_ref();
            match name.as_ref() {
                // `all` is the absence of the filter (the app's links and saved views say it).
                "status" if value == "all" => query.status = None,
                "status" => query.status = Some(parse_enum("status", value)?),
                "priority" => query.priority = Some(parse_enum("priority", value)?),
                "tag" => raw_tags.push(value.to_owned()),
                "tag_mode" => query.tag_mode = parse_enum("tag_mode", value)?,
                "due" => query.due = Some(parse_enum("due", value)?),
                "timezone" => {
                    if value.len() > 64 || value.parse::<chrono_tz::Tz>().is_err() {
                        return Err(invalid(
                            "timezone",
                            "an IANA time zone such as Europe/Berlin",
                        ));
                    }
                    value.clone_into(&mut query.timezone);
                }
                "q" if value.chars().count() > MAX_QUERY_LEN => {
                    return Err(invalid("q", format!("at most {MAX_QUERY_LEN} characters")));
                }
                // Postgres text cannot hold NUL.
                "q" if value.contains('\0') => {
                    return Err(invalid("q", "must not contain NUL characters"));
                }
                "q" => query.q = Some(value.trim().to_owned()).filter(|q| !q.is_empty()),
                "due_before" => query.due_before = Some(time("due_before", value)?),
                "due_after" => query.due_after = Some(time("due_after", value)?),
                "sort" => {
                    SortKey::parse(value).ok_or_else(|| invalid("sort", "one of due_date, priority, created_at, updated_at, title, with optional - prefix"))?;
                    query.sort = value.to_owned();
                }
                "limit" => {
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            invalid("limit", format!("an integer from 1 to {MAX_LIMIT}"))
                        })?;
                }
                "cursor" => query.cursor = Some(decode_cursor(value)?),
                other => return Err(invalid(other, "unknown parameter")),
            }
        }
        query.tags = normalize_tags(&raw_tags).map_err(|e| invalid("tag", e))?;
        if let Some(cursor) = &query.cursor
            && cursor.s != query.sort
        {
            return Err(ApiError::bad_request(
                "invalid_cursor",
                "the cursor belongs to another sort order",
            ));
        }
        Ok(query)
    }
}

fn decode_cursor(raw: &str) -> Result<Cursor, ApiError> {
    common::cursor::decode(raw)
}

fn encode_cursor(cursor: &Cursor) -> String {
    common::cursor::encode(cursor)
}

#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(flatten)]
    task: Task,
    sort_key: String,
}

/// One page of the user's tasks matching `query`.
pub async fn list(
    conn: &mut PgConnection,
    user_id: &str,
    query: &ListQuery,
) -> Result<TaskPage, ApiError> {
    let (key, descending) = SortKey::parse(&query.sort).unwrap_or((SortKey::CreatedAt, false));
    let (expression, key_type) = key.expression(descending);
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT id, user_id, title, description, status, priority, tags, due_date, reminder_at, recurring_rule, recurring_mode, recurring_end_date, timezone, parent_task_id, created_at, updated_at, completed_at, version, (",
    );
    sql.push(expression)
        .push(")::text AS sort_key FROM tasks WHERE user_id = ")
        .push_bind(user_id);
    // Status and priority come from closed sets, so they are written into the statement like
    // the sort and the page size: a bound `status = $2` is estimated at the average of its
    // values, which makes the generic plan look dearer than a custom one for `pending`, and
    // Postgres then plans the read again on every execution (pgbench, this read with the
    // status bound: 18 356 tps; written in: 30 520). A few statements per connection at most.
    if let Some(status) = query.status {
        sql.push(format_args!(" AND status = '{}'", status.as_str()));
    }
    if let Some(priority) = query.priority {
        sql.push(format_args!(" AND priority = '{}'", priority.as_str()));
    }
    if !query.tags.is_empty() {
        let operator = match query.tag_mode {
            TagMode::All => " AND tags @> ",
            TagMode::Any => " AND tags && ",
        };
        sql.push(operator).push_bind(&query.tags);
    }
    if let Some(view) = query.due {
        // Local midnights in the caller's zone, as instants (DST-correct: a local timestamp
        // read back through the zone).
        let days = match view {
            DueView::Today => Some(1),
            DueView::Upcoming => Some(7),
            DueView::Overdue => None,
        };
        match days {
            Some(days) => {
                sql.push(" AND due_date >= date_trunc('day', now() AT TIME ZONE ")
                    .push_bind(&query.timezone)
                    .push(") AT TIME ZONE ")
                    .push_bind(&query.timezone)
                    .push(" AND due_date < (date_trunc('day', now() AT TIME ZONE ")
                    .push_bind(&query.timezone)
                    .push(") + make_interval(days => ")
                    .push_bind(days)
                    .push(")) AT TIME ZONE ")
                    .push_bind(&query.timezone);
            }
            None => {
                sql.push(" AND due_date < now()");
            }
        }
    }
    if let Some(q) = &query.q {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sql.push(" AND (title ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR description ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
    if let Some(before) = query.due_before {
        sql.push(" AND due_date < ").push_bind(before);
    }
    if let Some(after) = query.due_after {
        sql.push(" AND due_date >= ").push_bind(after);
    }
    let (comparison, direction) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(cursor) = &query.cursor {
        sql.push(format_args!(" AND ({expression}, id) {comparison} (CAST("))
            .push_bind(&cursor.k)
            .push(format_args!(" AS {key_type}), "))
            .push_bind(cursor.id)
            .push(")");
    }
    // The page size is written into the statement, not bound: with a bound `LIMIT` the generic
    // plan cannot count on stopping after one page, costs more than a custom plan, and Postgres
    // then plans the prepared statement again on every execution (pgbench, this read on 500
    // tasks per user, 8 clients: 9 834 tps bound against 17 980 written in). `limit` is a
    // validated integer (1–MAX_LIMIT), so a few statements per connection at most.
    sql.push(format_args!(
        " ORDER BY {expression} {direction}, id {direction} LIMIT {}",
        query.limit + 1
    ));
    let mut rows: Vec<Row> = sql
        .build_query_as()
        .fetch_all(conn)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this API issued")
            }
            _ => error.into(),
        })?;
    let next_cursor = common::cursor::next_page(&mut rows, query.limit, |last| {
        encode_cursor(&Cursor {
            s: query.sort.clone(),
            k: last.sort_key.clone(),
            id: last.task.id,
        })
    });
    Ok(TaskPage {
        items: rows.into_iter().map(|r| r.task).collect(),
        next_cursor,
    })
}
