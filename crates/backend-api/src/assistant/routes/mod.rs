//! `/api/assistant/*`: status, threads and their items ([`threads`]), messages answered as a
//! server-sent event stream ([`messages`]) and confirmation cards ([`confirmations`]). Every
//! route needs the user's token. The conversation routes answer 503 `assistant_disabled` when
//! no provider key is configured; the confirmation routes work regardless, because MCP agents
//! ask for confirmations too.

pub mod confirmations;
pub mod messages;
pub mod threads;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use common::auth::AuthUser;
use common::error::{ApiError, Refusal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Assistant;
use crate::startup::AppState;

/// The assistant's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/assistant/status", get(status))
        .route(
            "/api/assistant/threads",
            post(threads::create_thread).get(threads::list_threads),
        )
        .route(
            "/api/assistant/threads/{id}",
            delete(threads::delete_thread),
        )
        .route(
            "/api/assistant/threads/{id}/items",
            get(threads::list_items),
        )
        .route(
            "/api/assistant/threads/{id}/messages",
            post(messages::post_message),
        )
        .route(
            "/api/assistant/confirmations",
            get(confirmations::list_confirmations),
        )
        .route(
            "/api/assistant/confirmations/{id}",
            post(confirmations::decide),
        )
}

/// 503 `assistant_disabled`: no model provider is configured.
fn disabled() -> ApiError {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "assistant_disabled",
        "the assistant is off: no model provider is configured",
    )
    .into()
}

fn enabled(state: &AppState) -> Result<Arc<Assistant>, ApiError> {
    state.assistant.clone().ok_or_else(disabled)
}

/// Whether the assistant is on, and with which model.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `false` when no provider key is configured.
    pub enabled: bool,
    /// The model answering (only when enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Whether the assistant is on (the UI hides or greys out its panel when it is not).
#[utoipa::path(get, path = "/api/assistant/status", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, body = Status)))]
pub async fn status(State(state): State<AppState>, _user: AuthUser) -> Json<Status> {
    Json(match &state.assistant {
        Some(assistant) => Status {
            enabled: true,
            model: Some(assistant.settings.model.clone()),
        },
        None => Status {
            enabled: false,
            model: None,
        },
    })
}

/// Query of the paged lists: `limit` and the `cursor` of the previous page (documented per
/// route: the bounds of `limit` differ).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Page size.
    #[serde(default)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl Page {
    /// The page size asked for, within `(default, most)`.
    fn size(&self, (default, most): (i64, i64)) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(default),
            Some(limit) if (1..=most).contains(&limit) => Ok(limit),
            Some(_) => Err(ApiError::invalid_field("limit", format!("1–{most}"))),
        }
    }
}

/// A page of a list: its items and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    /// This page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}
