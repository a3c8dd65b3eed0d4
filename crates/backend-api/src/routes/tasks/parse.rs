//! `POST /api/tasks/parse`: what a quick-add text would create, stored nowhere. The UI's
//! quick-add box and the assistant share the parser (`crate::quickadd`).

use axum::Json;
use axum::extract::State;
use common::error::ApiError;
use common::extract::ApiJson;
use common::limits::Limited;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::limits::Parse;
use crate::startup::AppState;
use crate::tasks::{CreateTaskRequest, quick_add, user_zone};

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
