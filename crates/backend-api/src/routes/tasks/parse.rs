//! `POST /api/tasks/parse`: what a quick-add text would create, stored nowhere. The UI's
//! quick-add box and the assistant share the parser (`crate::quickadd`).

use axum::Json;
use axum::extract::State;
use chrono_tz::Tz;
use common::error::ApiError;
use common::extract::ApiJson;
use common::limits::Limited;
use serde::Deserialize;
use utoipa::ToSchema;

use super::input::{CreateTaskRequest, normalize_tags};
use crate::limits::Parse;
use crate::startup::AppState;

const MAX_TEXT: usize = 1_000;

/// Body of `POST /api/tasks/parse`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseRequest {
    /// The quick-add text, e.g. `buy milk tomorrow 5pm #home p1`.
    pub text: String,
    /// The user's IANA time zone (default `UTC`); dates are read in it.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// The task fields a quick-add text stands for: a body `POST /api/tasks` accepts as it is.
pub type ParsedTask = CreateTaskRequest;

/// Parses a quick-add text into task fields without storing anything.
#[utoipa::path(post, path = "/api/tasks/parse", tag = "tasks", security(("bearer" = [])),
    request_body = ParseRequest,
    responses((status = 200, body = CreateTaskRequest, description = "the fields the text would create"),
              (status = 401, description = "no valid token"),
              (status = 422, description = "text too long, unknown time zone or too many tags")))]
pub async fn parse_task(
    State(state): State<AppState>,
    _user: Limited<Parse>,
    ApiJson(request): ApiJson<ParseRequest>,
) -> Result<Json<ParsedTask>, ApiError> {
    let (tz, timezone) = user_zone(request.timezone.as_deref())?;
    if request.text.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            "text",
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    Ok(Json(quick_add(
        &request.text,
        tz,
        timezone,
        (state.clock)(),
    )?))
}

/// Reads an optional IANA zone name (default UTC) as a 422-checked `Tz`.
pub fn user_zone(name: Option<&str>) -> Result<(Tz, String), ApiError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("UTC");
    let tz: Tz = name.parse().map_err(|_| {
        ApiError::invalid_field(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        )
    })?;
    Ok((tz, name.to_owned()))
}

/// The create request a quick-add text stands for.
pub fn quick_add(
    text: &str,
    tz: Tz,
    timezone: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CreateTaskRequest, ApiError> {
    let parsed = crate::quickadd::parse(text, tz, now);
    let tags = normalize_tags(&parsed.tags).map_err(|e| ApiError::invalid_field("tags", e))?;
    Ok(CreateTaskRequest {
        title: parsed.title,
        description: None,
        priority: parsed.priority,
        tags: (!tags.is_empty()).then_some(tags),
        due_date: parsed.due_date,
        reminder_at: None,
        recurring_rule: parsed.recurring_rule,
        recurring_mode: parsed.recurring_mode,
        recurring_end_date: None,
        timezone: Some(timezone),
    })
}
