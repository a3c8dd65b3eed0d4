//! The trash: `GET /api/tasks/trash`, `POST /api/tasks/trash/{id}/restore`,
//! `DELETE /api/tasks/trash/{id}` and `DELETE /api/tasks/trash`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiPath, ApiQuery};
use common::limits::Limited;
use common::tasks::Task;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::http::task_response;
use crate::limits::Writes;
use crate::startup::AppState;
use crate::tasks::trash::{self, MAX_PAGE, TrashPage};
use crate::tasks::{Caller, WriteContext};

/// Query of `GET /api/tasks/trash`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrashQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// What `DELETE /api/tasks/trash` removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Emptied {
    /// How many entries went for good.
    pub deleted: u64,
}

/// The caller's deleted tasks that can still be restored, most recently deleted first.
#[utoipa::path(get, path = "/api/tasks/trash", tag = "trash", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query, description = "1–200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = TrashPage), (status = 400, description = "bad parameter or cursor")))]
pub async fn list_trash(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<TrashQuery>,
) -> Result<Json<TrashPage>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1–{MAX_PAGE}"),
        ));
    }
    let mut conn = state.pool.acquire().await?;
    Ok(Json(
        trash::list(&mut conn, &user.user_id, limit, query.cursor.as_deref()).await?,
    ))
}

/// Puts a deleted task back (the next version) and publishes `task-updated` with
/// `changes.deleted` from `true` to `false`.
#[utoipa::path(post, path = "/api/tasks/trash/{id}/restore", tag = "trash", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Task, description = "the task, restored"),
              (status = 404, description = "not in the caller's trash (never deleted, restored already, or past 30 days)"),
              (status = 410, description = "the account was deleted (a token issued before)")))]
pub async fn restore_task(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let caller = Caller::user(user.user_id, context);
    let mut tx = state.pool.begin().await?;
    let task = trash::restore(&mut tx, &caller, id).await?;
    common::outbox::commit(tx).await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Deletes one entry of the trash for good (its history stays in the audit trail).
#[utoipa::path(delete, path = "/api/tasks/trash/{id}", tag = "trash", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "gone for good"), (status = 404, description = "not in the caller's trash")))]
pub async fn remove_from_trash(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = state.pool.acquire().await?;
    trash::remove(&mut conn, &user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Empties the caller's trash.
#[utoipa::path(delete, path = "/api/tasks/trash", tag = "trash", security(("bearer" = [])),
    responses((status = 200, body = Emptied)))]
pub async fn empty_trash(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
) -> Result<Json<Emptied>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let deleted = trash::empty(&mut conn, &user.user_id).await?;
    Ok(Json(Emptied { deleted }))
}
