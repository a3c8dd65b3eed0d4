//! `GET`, `PATCH` and `DELETE /api/tasks/{id}`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::auth::AuthUser;
use common::error::ApiError;
use common::events::EventType;
use common::extract::{ApiJson, ApiPath};
use common::tasks::{Task, lock_task, update_task as store_update};
use uuid::Uuid;

use super::input::UpdateTaskRequest;
use super::write::{WriteContext, check_if_match, diff, emit, if_match, task_response};
use crate::startup::AppState;

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
    let task = common::tasks::get_task(&mut conn, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
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
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateTaskRequest>,
) -> Result<Response, ApiError> {
    let condition = if_match(&headers)?;
    let mut tx = state.pool.begin().await?;
    let current = lock_task(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    check_if_match(condition, &current)?;
    let wanted = request.apply(&current)?;
    let changes = diff(&current, &wanted);
    if changes.is_empty() {
        return Ok(task_response(StatusCode::OK, &current));
    }
    let updated = store_update(&mut tx, &wanted).await?;
    emit(
        &mut tx,
        EventType::TaskUpdated,
        &updated,
        Some(changes),
        &context,
    )
    .await?;
    tx.commit().await?;
    Ok(task_response(StatusCode::OK, &updated))
}

/// Deletes the task (204). `If-Match` is honoured here too.
#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such task"),
              (status = 412, description = "version mismatch")))]
pub async fn delete_task(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let condition = if_match(&headers)?;
    let mut tx = state.pool.begin().await?;
    let current = lock_task(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    check_if_match(condition, &current)?;
    let mut deleted: Task = common::tasks::delete_task(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    // The deletion is the newest state of the task: a client ordering pushes by version must
    // not let an older update resurrect it.
    deleted.version += 1;
    emit(&mut tx, EventType::TaskDeleted, &deleted, None, &context).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
