//! `/api/assistant/*`: status, threads, items, messages (a server-sent event stream) and
//! confirmations. Every route needs the user's token. The conversation routes answer 503
//! `assistant_disabled` when no provider key is configured; the confirmation routes work
//! regardless, because MCP agents ask for confirmations too.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use common::auth::AuthUser;
use common::error::{ApiError, Refusal};
use common::extract::{ApiJson, ApiPath, ApiQuery};
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Assistant;
use super::conversation::{self, StreamEvent, TurnContext};
use super::store;
use crate::startup::AppState;
use crate::tasks::{Caller, IfMatch, WriteContext, service, user_zone};

const MAX_MESSAGE: usize = 4_000;
/// Page sizes: default and most.
const THREAD_PAGE: (i64, i64) = (50, 100);
const ITEM_PAGE: (i64, i64) = (200, 500);
const MAX_PENDING: i64 = 100;

/// The assistant's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/assistant/status", get(status))
        .route(
            "/api/assistant/threads",
            post(create_thread).get(list_threads),
        )
        .route("/api/assistant/threads/{id}", delete(delete_thread))
        .route("/api/assistant/threads/{id}/items", get(list_items))
        .route("/api/assistant/threads/{id}/messages", post(post_message))
        .route("/api/assistant/confirmations", get(list_confirmations))
        .route("/api/assistant/confirmations/{id}", post(decide))
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

/// 429 `rate_limited`: the per-user message limit is reached.
fn rate_limited(per_minute: u32) -> ApiError {
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("at most {per_minute} assistant messages per minute"),
    )
    .details(json!({"limit_per_minute": per_minute, "retry_after_seconds": 60}))
    .retry_after(60)
    .into()
}

/// 429 `token_budget_exhausted`: the user's tokens for today are spent; `retry_after` is the
/// seconds until the budget renews (next UTC midnight).
fn token_budget_exhausted(limit: u64, retry_after: u64) -> ApiError {
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        "token_budget_exhausted",
        format!("today's assistant budget of {limit} tokens is used up"),
    )
    .details(json!({"limit_per_day": limit, "retry_after_seconds": retry_after}))
    .retry_after(retry_after)
    .into()
}

/// 410 `confirmation_expired`: the confirmation card is past its expiry.
fn confirmation_expired() -> ApiError {
    Refusal::new(
        StatusCode::GONE,
        "confirmation_expired",
        "this confirmation expired; ask again",
    )
    .into()
}

/// 412 `task_changed`: a task of the card was deleted since it was drawn.
fn task_changed(task_id: Uuid) -> ApiError {
    Refusal::new(
        StatusCode::PRECONDITION_FAILED,
        "task_changed",
        "a task on this card was deleted since it was drawn; nothing was done",
    )
    .details(json!({"task_id": task_id}))
    .into()
}

fn enabled(state: &AppState) -> Result<Arc<Assistant>, ApiError> {
    state.assistant.clone().ok_or_else(disabled)
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
    request_body = Option<NewThread>,
    responses((status = 201, description = "the thread"), (status = 503, description = "assistant_disabled")))]
pub async fn create_thread(
    State(state): State<AppState>,
    user: AuthUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    enabled(&state)?;
    // Optional body; when there is one it is a JSON object like every body of this API (serde
    // alone would also build the struct from an array such as `[null, null]`).
    let request: NewThread = if body.iter().all(u8::is_ascii_whitespace) {
        NewThread::default()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(object @ Value::Object(_)) => serde_json::from_value(object)
                .map_err(|e| ApiError::Validation(json!({ "body": e.to_string() })))?,
            Ok(_) => {
                return Err(ApiError::Validation(
                    json!({ "body": "expected a JSON object" }),
                ));
            }
            Err(e) => return Err(ApiError::bad_request("malformed_json", e.to_string())),
        }
    };
    let (_, timezone) = user_zone(request.timezone.as_deref())?;
    let title: String = request.title.unwrap_or_default().trim().to_owned();
    if title.chars().count() > 200 {
        return Err(ApiError::invalid_field("title", "at most 200 characters"));
    }
    let mut conn = state.pool.acquire().await?;
    let thread = store::create_thread(&mut conn, &user.user_id, &title, &timezone).await?;
    Ok((StatusCode::CREATED, Json(thread)).into_response())
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

fn page_size(page: &Page, (default, most): (i64, i64)) -> Result<i64, ApiError> {
    match page.limit {
        None => Ok(default),
        Some(limit) if (1..=most).contains(&limit) => Ok(limit),
        Some(_) => Err(ApiError::invalid_field("limit", format!("1–{most}"))),
    }
}

/// Where a page of threads ends: the last thread's `updated_at` (µs) and id.
#[derive(serde::Serialize, serde::Deserialize)]
struct ThreadPosition {
    u: i64,
    id: Uuid,
}

fn encode_thread_cursor(thread: &store::Thread) -> String {
    common::cursor::encode(&ThreadPosition {
        u: thread.updated_at.timestamp_micros(),
        id: thread.id,
    })
}

fn decode_thread_cursor(raw: &str) -> Result<store::ThreadCursor, ApiError> {
    let position: ThreadPosition = common::cursor::decode(raw)?;
    Ok(store::ThreadCursor {
        updated_at: chrono::DateTime::from_timestamp_micros(position.u)
            .ok_or_else(common::cursor::invalid)?,
        id: position.id,
    })
}

/// The caller's threads, most recent first, a page at a time.
#[utoipa::path(get, path = "/api/assistant/threads", tag = "assistant", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "page size (default 50)"),
           ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"items\":[thread...],\"next_cursor\":...}`"), (status = 503, description = "assistant_disabled")))]
pub async fn list_threads(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Value>, ApiError> {
    enabled(&state)?;
    let limit = page_size(&page, THREAD_PAGE)?;
    let cursor = page
        .cursor
        .as_deref()
        .map(decode_thread_cursor)
        .transpose()?;
    let mut conn = state.pool.acquire().await?;
    let mut threads = store::list_threads(&mut conn, &user.user_id, cursor, limit + 1).await?;
    let more = threads.len() as i64 > limit;
    threads.truncate(limit as usize);
    let next_cursor = more
        .then(|| threads.last().map(encode_thread_cursor))
        .flatten();
    Ok(Json(json!({"items": threads, "next_cursor": next_cursor})))
}

/// Deletes one of the caller's threads with its items and cards; works with the assistant off
/// too (a user may clear what was stored while it was on).
#[utoipa::path(delete, path = "/api/assistant/threads/{id}", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such thread")))]
pub async fn delete_thread(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = state.pool.acquire().await?;
    if store::delete_thread(&mut conn, &user.user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("thread"))
    }
}

async fn own_thread(state: &AppState, user_id: &str, id: Uuid) -> Result<store::Thread, ApiError> {
    let mut conn = state.pool.acquire().await?;
    store::get_thread(&mut conn, user_id, id)
        .await?
        .ok_or(ApiError::NotFound("thread"))
}

/// The thread's items in order: `user_message`, `assistant_message`, `tool_result`, `error`,
/// `confirmation`. A page holds the latest `limit` items; `next_cursor` pages back to older
/// ones.
#[utoipa::path(get, path = "/api/assistant/threads/{id}/items", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "page size (default 200)"),
           ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, description = "`{\"items\":[item...],\"next_cursor\":...}`"), (status = 404, description = "no such thread")))]
pub async fn list_items(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Value>, ApiError> {
    enabled(&state)?;
    let limit = page_size(&page, ITEM_PAGE)?;
    let before = match page.cursor.as_deref() {
        None => None,
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| common::cursor::invalid())?),
    };
    own_thread(&state, &user.user_id, id).await?;
    let mut conn = state.pool.acquire().await?;
    let mut items = store::list_items(&mut conn, &user.user_id, id, before, limit + 1).await?;
    let more = items.len() as i64 > limit;
    if more {
        items.remove(0);
    }
    let next_cursor = more
        .then(|| items.first().map(|i| i.id.to_string()))
        .flatten();
    Ok(Json(json!({"items": items, "next_cursor": next_cursor})))
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
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let assistant = enabled(&state)?;
    let thread = own_thread(&state, &user.user_id, id).await?;
    let text = request.text.trim().to_owned();
    let length = text.chars().count();
    if length == 0 || length > MAX_MESSAGE || text.contains('\0') {
        return Err(ApiError::invalid_field(
            "text",
            format!("1–{MAX_MESSAGE} characters"),
        ));
    }
    let timezone = match request.timezone.as_deref() {
        Some(zone) => user_zone(Some(zone))?.1,
        None => thread.timezone.clone(),
    };
    let per_minute = assistant.settings.rate_limit_per_minute;
    let mut tx = state.pool.begin().await?;
    let limit = assistant.settings.daily_token_limit;
    let used = store::tokens_today(&mut tx, &user.user_id).await?;
    if u64::try_from(used).unwrap_or(0) >= limit {
        let renews_in = seconds_to_utc_midnight((state.clock)());
        return Err(token_budget_exhausted(
            limit,
            u64::try_from(renews_in).unwrap_or(0),
        ));
    }
    let item = store::add_user_message_within_limit(&mut tx, &user.user_id, id, &text, per_minute)
        .await?
        .ok_or_else(|| rate_limited(per_minute))?;
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

/// Seconds from `now` to the next UTC midnight, when token budgets renew.
fn seconds_to_utc_midnight(now: chrono::DateTime<chrono::Utc>) -> i64 {
    let tomorrow = now.date_naive() + chrono::Days::new(1);
    let midnight = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    (midnight - now).num_seconds().max(1)
}

/// The caller's cards still waiting for a decision — the in-app assistant's and those MCP
/// agents asked for — oldest first, each with the tasks it names as they are now (`changed`
/// when a task moved past the version shown, `task: null` when it is gone).
#[utoipa::path(get, path = "/api/assistant/confirmations", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, description = "`{\"items\":[card...]}`")))]
pub async fn list_confirmations(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let cards = store::pending_confirmations(&mut conn, &user.user_id, MAX_PENDING).await?;
    let card_ids: Vec<Uuid> = cards.iter().map(|c| c.id).collect();
    let targets = store::targets_of(&mut conn, &card_ids).await?;
    let task_ids: Vec<Uuid> = targets.iter().map(|(_, t)| t.task_id).collect();
    let tasks: std::collections::HashMap<Uuid, common::tasks::Task> =
        common::tasks::get_tasks(&mut conn, &user.user_id, &task_ids)
            .await?
            .into_iter()
            .map(|task| (task.id, task))
            .collect();
    let items: Vec<Value> = cards
        .iter()
        .map(|card| {
            let named: Vec<Value> = targets
                .iter()
                .filter(|(id, _)| *id == card.id)
                .map(|(_, target)| {
                    let task = tasks.get(&target.task_id);
                    json!({"task_id": target.task_id, "version": target.task_version,
                           "changed": task.is_none_or(|t| t.version != target.task_version),
                           "task": task})
                })
                .collect();
            json!({"id": card.id, "action": card.action, "source": card.source,
                   "thread_id": card.thread_id, "created_at": card.created_at,
                   "expires_at": card.expires_at, "tasks": named})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// Body of `POST /api/assistant/confirmations/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `true` runs the action, `false` cancels it.
    pub confirm: bool,
}

/// Runs or cancels the action on a confirmation card. Confirming acts on every task of the
/// card in one transaction, and only if each still is the version shown (412 otherwise —
/// changed or deleted since — and nothing is done); a decided card answers 409, an expired one
/// 410.
#[utoipa::path(post, path = "/api/assistant/confirmations/{id}", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Decision,
    responses((status = 200, description = "`{\"status\":\"confirmed\"|\"cancelled\",...}`"),
              (status = 404, description = "no such confirmation"), (status = 409, description = "already decided"),
              (status = 410, description = "confirmation_expired"),
              (status = 412, description = "a task changed or was deleted since the card")))]
pub async fn decide(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(decision): ApiJson<Decision>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let card = store::lock_confirmation(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("confirmation"))?;
    if card.status != store::CardStatus::Pending {
        return Err(ApiError::Conflict {
            code: "already_decided",
            message: format!("this confirmation was already {}", card.status),
        });
    }
    let targets = store::confirmation_targets(&mut tx, card.id).await?;
    let task_ids: Vec<Uuid> = targets.iter().map(|t| t.task_id).collect();
    let status = if card.expired {
        store::CardStatus::Expired
    } else if decision.confirm {
        let caller = Caller::assistant(user.user_id.clone(), context);
        for target in &targets {
            let condition = Some(IfMatch::Version(target.task_version));
            let done = match card.action {
                store::CardAction::CompleteTasks => {
                    service::complete(&mut tx, &caller, target.task_id, condition).await
                }
                store::CardAction::DeleteTask | store::CardAction::DeleteTasks => {
                    service::delete(&mut tx, &caller, target.task_id, condition).await
                }
            };
            match done {
                Ok(_) => {}
                // Deleted since the card was drawn: as changed as a task can be. The
                // transaction rolls back whatever this card already did.
                Err(ApiError::NotFound(_)) => {
                    return Err(task_changed(target.task_id));
                }
                Err(other) => return Err(other),
            }
        }
        store::CardStatus::Confirmed
    } else {
        store::CardStatus::Cancelled
    };
    store::decide_confirmation(&mut tx, &user.user_id, id, status).await?;
    let decided = json!({"confirmation_id": card.id, "action": card.action,
                         "task_ids": task_ids, "status": status});
    if let Some(thread_id) = card.thread_id {
        store::add_item(
            &mut tx,
            Uuid::now_v7(),
            &user.user_id,
            thread_id,
            "confirmation",
            &decided,
        )
        .await?;
    }
    tx.commit().await?;
    if card.expired {
        return Err(confirmation_expired());
    }
    let single = (task_ids.len() == 1).then(|| task_ids[0]);
    Ok(Json(
        json!({"id": card.id, "thread_id": card.thread_id, "action": card.action,
                   "task_id": single, "task_ids": task_ids, "status": status}),
    ))
}
