//! Threads and their items: start, list, delete a thread; page through its items.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiPath, ApiQuery};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Page, Paged, enabled};
use crate::assistant::store;
use crate::startup::AppState;
use crate::tasks::user_zone;

/// Page sizes: default and most.
const THREAD_PAGE: (i64, i64) = (50, 100);
const ITEM_PAGE: (i64, i64) = (200, 500);

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
    responses((status = 201, body = store::Thread), (status = 503, description = "assistant_disabled")))]
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
    responses((status = 200, body = Paged<store::Thread>), (status = 503, description = "assistant_disabled")))]
pub async fn list_threads(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<store::Thread>>, ApiError> {
    enabled(&state)?;
    let limit = page.size(THREAD_PAGE)?;
    let cursor = page
        .cursor
        .as_deref()
        .map(decode_thread_cursor)
        .transpose()?;
    let mut conn = state.pool.acquire().await?;
    let mut threads = store::list_threads(&mut conn, &user.user_id, cursor, limit + 1).await?;
    let next_cursor = common::cursor::next_page(&mut threads, limit, encode_thread_cursor);
    Ok(Json(Paged {
        items: threads,
        next_cursor,
    }))
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

pub(super) async fn own_thread(
    state: &AppState,
    user_id: &str,
    id: Uuid,
) -> Result<store::Thread, ApiError> {
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
    responses((status = 200, body = Paged<store::Item>), (status = 404, description = "no such thread")))]
pub async fn list_items(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<store::Item>>, ApiError> {
    enabled(&state)?;
    let limit = page.size(ITEM_PAGE)?;
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
    Ok(Json(Paged { items, next_cursor }))
}
