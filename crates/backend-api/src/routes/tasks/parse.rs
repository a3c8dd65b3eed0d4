//! `POST /api/tasks/parse`: what a quick-add text would create, stored nowhere, and where the
//! recognised phrases stand in it. The UI's quick-add box calls it as the user types, to
//! highlight them; the assistant shares the parser (`crate::quickadd`).

use axum::Json;
use axum::extract::State;
use common::error::ApiError;
use common::extract::ApiJson;
use common::limits::Limited;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::limits::Parse;
use crate::quickadd::{Span, SpanKind};
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

/// What `POST /api/tasks/parse` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParsedTask {
    /// The task fields the text stands for: a body `POST /api/tasks` accepts as it is.
    pub task: CreateTaskRequest,
    /// The recognised phrases, in the order of the text. Words in double quotes are never
    /// recognised, so quoting a span's text keeps it in the title.
    pub spans: Vec<ParsedSpan>,
}

/// A recognised phrase of the text.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParsedSpan {
    /// What it sets: `due` (a date, time or both), `repeat`, `priority` or `tag`.
    pub kind: ParsedSpanKind,
    /// Where it starts, in UTF-16 code units (a JavaScript string index).
    pub start: usize,
    /// Where it ends (exclusive), in UTF-16 code units.
    pub end: usize,
    /// The text it covers, as written.
    pub text: String,
}

/// What a recognised phrase sets.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParsedSpanKind {
    /// The due date and/or time.
    Due,
    /// The recurrence.
    Repeat,
    /// The priority.
    Priority,
    /// A tag.
    Tag,
}

impl ParsedSpan {
    fn new(text: &str, span: Span) -> Self {
        let utf16 = |byte: usize| text[..byte].encode_utf16().count();
        Self {
            kind: match span.kind {
                SpanKind::Due => ParsedSpanKind::Due,
                SpanKind::Repeat => ParsedSpanKind::Repeat,
                SpanKind::Priority => ParsedSpanKind::Priority,
                SpanKind::Tag => ParsedSpanKind::Tag,
            },
            start: utf16(span.start),
            end: utf16(span.end),
            text: text[span.start..span.end].to_owned(),
        }
    }
}

/// Parses a quick-add text into task fields without storing anything.
#[utoipa::path(post, path = "/api/tasks/parse", tag = "tasks", security(("bearer" = [])),
    request_body = ParseRequest,
    responses((status = 200, body = ParsedTask, description = "the fields the text would create and where it says them"),
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
    let (task, spans) = quick_add(&request.text, tz, timezone, (state.clock)())?;
    let spans = spans
        .into_iter()
        .map(|span| ParsedSpan::new(&request.text, span))
        .collect();
    Ok(Json(ParsedTask { task, spans }))
}
