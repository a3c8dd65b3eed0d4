//! Single-notification and bulk writes: mark read/unread, read-all, delete, unread count.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{COLUMNS, Notification};
use crate::startup::AppState;

/// `PATCH /api/notifications/{id}` body. Unknown fields are refused (422) so a typo such as
/// `{"raed": true}` is not silently a no-op.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// `true` marks the notification read, `false` unread again.
    pub read: bool,
}

impl MarkRead {
    /// Reads the body from a JSON object only: serde would also build the struct from an
    /// array (`[true]`), which is not a shape this API documents.
    fn from_object(object: Map<String, Value>) -> Result<Self, ApiError> {
        serde_json::from_value(Value::Object(object))
            .map_err(|error| ApiError::Validation(json!({ "body": error.to_string() })))
    }
}

/// How many notifications `read-all` marked read.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    pub updated: u64,
}

/// The caller's unread notifications.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreadCount {
    pub count: i64,
}

/// Marks one of the caller's notifications read or unread; 404 if it is not theirs.
#[utoipa::path(patch, path = "/api/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = MarkRead,
    responses((status = 200, body = Notification), (status = 404, description = "no such notification")))]
pub async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<Notification>, ApiError> {
    let body = MarkRead::from_object(body)?;
    // Marking read twice keeps the first read time.
    let sql = format!(
        "UPDATE notifications SET read_at = CASE WHEN $3 THEN coalesce(read_at, now()) END \
         WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, Notification>(&sql)
        .bind(id)
        .bind(&user.user_id)
        .bind(body.read)
        .fetch_optional(&state.pool)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("notification"))
}

/// Marks every unread notification of the caller read; answers how many changed.
#[utoipa::path(post, path = "/api/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead)))]
pub async fn mark_all_read(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<MarkedRead>, ApiError> {
    let updated = sqlx::query(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(&user.user_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    Ok(Json(MarkedRead { updated }))
}

/// Deletes one of the caller's notifications; 204, or 404 if it is not theirs.
#[utoipa::path(delete, path = "/api/notifications/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such notification")))]
pub async fn delete_notification(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let deleted = sqlx::query("DELETE FROM notifications WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(&user.user_id)
        .execute(&state.pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::NotFound("notification"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's unread count, for the bell.
#[utoipa::path(get, path = "/api/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount)))]
pub async fn unread_count(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<UnreadCount>, ApiError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(&user.user_id)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(UnreadCount { count }))
}
