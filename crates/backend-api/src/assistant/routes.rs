//! `/api/assistant/*`: status, threads, items, messages (a server-sent event stream) and
//! confirmations. Every route needs the user's token; all but `status` answer 503
//! `assistant_disabled` when no provider key is configured.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Assistant;
use super::conversation::{self, StreamEvent, TurnContext};
use super::store;
use crate::routes::tasks::{Caller, IfMatch, WriteContext, service, user_zone};
use crate::startup::AppState;

const MAX_MESSAGE: usize = 4_000;
const MAX_THREADS: i64 = 100;
const MAX_ITEMS: i64 = 500;

/// The assistant's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/assistant/status", get(status))
        .route(
            "/api/assistant/threads",
            post(create_thread).get(list_threads),
        )
        .route("/api/assistant/threads/{id}/items", get(list_items))
        .route("/api/assistant/threads/{id}/messages", post(post_message))
        .route("/api/assistant/confirmations/{id}", post(decide))
}

/// Errors of the assistant routes: the API's, plus "switched off" and "slow down".
#[derive(Debug)]
pub enum AssistantError {
    /// 503: no provider key configured.
    Disabled,
    /// 429: the per-user message limit is reached.
    RateLimited {
        /// Messages allowed per minute.
        per_minute: u32,
    },
    /// Any API error.
    Api(ApiError),
}

impl From<ApiError> for AssistantError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<sqlx::Error> for AssistantError {
    fn from(error: sqlx::Error) -> Self {
        Self::Api(error.into())
    }
}

impl IntoResponse for AssistantError {
    fn into_response(self) -> Response {
        match self {
            Self::Disabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": {"code": "assistant_disabled",
                    "message": "the assistant is off: no model provider is configured"}})),
            )
                .into_response(),
            Self::RateLimited { per_minute } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"error": {"code": "rate_limited",
                        "message": format!("at most {per_minute} assistant messages per minute"),
                        "details": {"limit_per_minute": per_minute, "retry_after_seconds": 60}}})),
                )
                    .into_response();
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("60"),
                );
                response
            }
            Self::Api(error) => error.into_response(),
        }
    }
}

fn enabled(state: &AppState) -> Result<Arc<Assistant>, AssistantError> {
    state.assistant.clone().ok_or(AssistantError::Disabled)
}

/// Whether the assistant is on (the UI hides or greys out its panel when it is not).
#[utoipa::path(get, path = "/api/assistant/status", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, description = "`{\"enabled\":false}`, or `{\"enabled\":true,\"model\":...}`")))]
pub async fn status(State(state): State<AppState>, _user: AuthUser) -> Json<Value> {
    Json(match &state.assistant {
        Some(assistant) => json!({"enabled": true, "model": assistant.settings.model}),
        None => json!({"enabled": false}),
    })
}

/// Body of `POST /api/assistant/threads` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewThread {
    /// Up to 200 characters; default: the first message.
    #[serde(default)]
    pub title: Option<String>,
    /// The IANA zone date phrases are read in (default `UTC`).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Starts a thread (body optional).
#[utoipa::path(post, path = "/api/assistant/threads", tag = "assistant", security(("bearer" = [])),
    request_body = NewThread,
    responses((status = 201, description = "the thread"), (status = 503, description = "assistant_disabled")))]
pub async fn create_thread(
    State(state): State<AppState>,
    user: AuthUser,
    body: Bytes,
) -> Result<Response, AssistantError> {
    enabled(&state)?;
    let request: NewThread = if body.iter().all(u8::is_ascii_whitespace) {
        NewThread::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?
    };
    let (_, timezone) = user_zone(request.timezone.as_deref())?;
    let title: String = request.title.unwrap_or_default().trim().to_owned();
    if title.chars().count() > 200 {
        return Err(ApiError::invalid_field("title", "at most 200 characters").into());
    }
    let mut conn = state.pool.acquire().await?;
    let thread = store::create_thread(&mut conn, &user.user_id, &title, &timezone).await?;
    Ok((StatusCode::CREATED, Json(thread)).into_response())
}

/// The caller's threads, most recent first.
#[utoipa::path(get, path = "/api/assistant/threads", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, description = "`{\"items\":[thread...]}`"), (status = 503, description = "assistant_disabled")))]
pub async fn list_threads(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, AssistantError> {
    enabled(&state)?;
    let mut conn = state.pool.acquire().await?;
    let threads = store::list_threads(&mut conn, &user.user_id, MAX_THREADS).await?;
    Ok(Json(json!({"items": threads})))
}

async fn own_thread(
    state: &AppState,
    user_id: &str,
    id: Uuid,
) -> Result<store::Thread, AssistantError> {
    let mut conn = state.pool.acquire().await?;
    store::get_thread(&mut conn, user_id, id)
        .await?
        .ok_or(AssistantError::Api(ApiError::NotFound("thread")))
}

/// The thread's items in order: `user_message`, `assistant_message`, `tool_result`, `error`.
#[utoipa::path(get, path = "/api/assistant/threads/{id}/items", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "`{\"items\":[item...]}`"), (status = 404, description = "no such thread")))]
pub async fn list_items(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Value>, AssistantError> {
    enabled(&state)?;
    own_thread(&state, &user.user_id, id).await?;
    let mut conn = state.pool.acquire().await?;
    let items = store::list_items(&mut conn, &user.user_id, id, MAX_ITEMS).await?;
    Ok(Json(json!({"items": items})))
}

/// Body of `POST /api/assistant/threads/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// 1–4000 characters.
    pub text: String,
    /// Overrides the thread's zone for this message (a user who travelled).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Stores the message and streams the answer as server-sent events until the turn ends:
/// `item.added`, `item.delta`, `item.done`, `tool_call.started`, `tool_call.finished`, `error`,
/// `done`.
#[utoipa::path(post, path = "/api/assistant/threads/{id}/messages", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewMessage,
    responses((status = 200, description = "text/event-stream"), (status = 404, description = "no such thread"),
              (status = 429, description = "rate_limited"), (status = 503, description = "assistant_disabled")))]
pub async fn post_message(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<NewMessage>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AssistantError> {
    let assistant = enabled(&state)?;
    let thread = own_thread(&state, &user.user_id, id).await?;
    let text = request.text.trim().to_owned();
    let length = text.chars().count();
    if length == 0 || length > MAX_MESSAGE || text.contains('\0') {
        return Err(ApiError::invalid_field("text", format!("1–{MAX_MESSAGE} characters")).into());
    }
    let timezone = match request.timezone.as_deref() {
        Some(zone) => user_zone(Some(zone))?.1,
        None => thread.timezone.clone(),
    };
    let per_minute = assistant.settings.rate_limit_per_minute;
    let mut tx = state.pool.begin().await?;
    let item = store::add_user_message_within_limit(&mut tx, &user.user_id, id, &text, per_minute)
        .await?
        .ok_or(AssistantError::RateLimited { per_minute })?;
    store::touch_thread(&mut tx, &user.user_id, id, &text).await?;
    tx.commit().await?;

    let (events, receiver) = tokio::sync::mpsc::unbounded_channel::<StreamEvent>();
    let _ = events.send(StreamEvent {
        name: "item.added",
        data: json!(item),
    });
    let turn = TurnContext {
        assistant,
        pool: state.pool.clone(),
        caller: Caller::assistant(user.user_id, context),
        thread,
        timezone,
        now: (state.clock)(),
    };
    tokio::spawn(conversation::run(turn, events));
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        let sse = Event::default()
            .event(event.name)
            .data(event.data.to_string());
        Some((Ok(sse), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Body of `POST /api/assistant/confirmations/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `true` runs the action, `false` cancels it.
    pub confirm: bool,
}

/// Runs or cancels the action on a confirmation card. Confirming deletes the task only if it
/// is still the version shown (412 otherwise); a decided card answers 409.
#[utoipa::path(post, path = "/api/assistant/confirmations/{id}", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Decision,
    responses((status = 200, description = "`{\"status\":\"confirmed\"|\"cancelled\",...}`"),
              (status = 404, description = "no such confirmation"), (status = 409, description = "already decided"),
              (status = 412, description = "the task changed since the card")))]
pub async fn decide(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(decision): ApiJson<Decision>,
) -> Result<Json<Value>, AssistantError> {
    enabled(&state)?;
    let mut tx = state.pool.begin().await?;
    let card = store::lock_confirmation(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("confirmation"))?;
    if card.status != "pending" {
        return Err(ApiError::Conflict {
            code: "already_decided",
            message: format!("this confirmation was already {}", card.status),
        }
        .into());
    }
    let status = if decision.confirm {
        let caller = Caller::assistant(user.user_id.clone(), context);
        let condition = Some(IfMatch::Version(card.task_version));
        service::delete(&mut tx, &caller, card.task_id, condition).await?;
        "confirmed"
    } else {
        "cancelled"
    };
    store::decide_confirmation(&mut tx, &user.user_id, id, status).await?;
    let decided = json!({"confirmation_id": card.id, "action": card.action,
                         "task_id": card.task_id, "status": status});
    store::add_item(
        &mut tx,
        Uuid::now_v7(),
        &user.user_id,
        card.thread_id,
        "confirmation",
        &decided,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        json!({"id": card.id, "thread_id": card.thread_id, "action": card.action,
                   "task_id": card.task_id, "status": status}),
    ))
}
