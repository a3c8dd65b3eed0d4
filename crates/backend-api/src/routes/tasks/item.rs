//! `GET`, `PATCH` and `DELETE /api/tasks/{id}`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use common::limits::Limited;
use common::tasks::Task;
use uuid::Uuid;

use super::http::{if_match, task_response};
use crate::limits::Writes;
use crate::startup::AppState;
use crate::tasks::{Caller, UpdateTaskRequest, WriteContext, service};

/// One of the caller's tasks; someone else's answers 404 exactly like a missing one.
#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Task), (status = 404, description = "no such task")))]
pub async fn get_task(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let task = service::get(&mut conn, &user.user_id, id).await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Partial update. `If-Match: "<version>"` makes it conditional (412 when the task moved on).
/// A patch that changes nothing bumps nothing and publishes nothing.
#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body = UpdateTaskRequest,
    responses((status = 200, body = Task), (status = 404, description = "no such task"),
              (status = 412, description = "version mismatch"), (status = 422, description = "invalid field")))]
pub async fn update_task(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateTaskRequest>,
) -> Result<Response, ApiError> {
    let condition = if_match(&headers)?;
    let caller = Caller::user(user.user_id, context);
    let mut tx = state.pool.begin().await?;
    let updated = service::update(&mut tx, &caller, id, request, condition).await?;
    common::outbox::commit(tx).await?;
    Ok(task_response(StatusCode::OK, &updated))
}

/// Deletes the task into the trash (204), where it can be restored for 30 days. `If-Match` is
/// honoured here too.
#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such task"),
              (status = 412, description = "version mismatch")))]
pub async fn delete_task(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let condition = if_match(&headers)?;
    let caller = Caller::user(user.user_id, context);
    let mut tx = state.pool.begin().await?;
    service::delete(&mut tx, &caller, id, condition).await?;
    common::outbox::commit(tx).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
