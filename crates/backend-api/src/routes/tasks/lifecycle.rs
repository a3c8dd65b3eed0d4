//! `POST /api/tasks/{id}/complete` and `/reopen`. Both are idempotent: completing a completed
//! task (or reopening a pending one) changes nothing and publishes nothing.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use common::auth::AuthUser;
use common::error::ApiError;
use common::events::EventType;
use common::extract::ApiPath;
use common::tasks::{Task, TaskStatus, lock_task, update_task};
use uuid::Uuid;

use super::write::{WriteContext, check_if_match, diff, emit, if_match, task_response};
use crate::startup::AppState;

/// Marks the task completed and publishes `task-completed`.
#[utoipa::path(post, path = "/api/tasks/{id}/complete", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Task), (status = 404, description = "no such task")))]
pub async fn complete_task(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    transition(state, user, context, id, &headers, TaskStatus::Completed).await
}

/// Marks the task pending again and publishes `task-updated`.
#[utoipa::path(post, path = "/api/tasks/{id}/reopen", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Task), (status = 404, description = "no such task")))]
pub async fn reopen_task(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    transition(state, user, context, id, &headers, TaskStatus::Pending).await
}

async fn transition(
    state: AppState,
    user: AuthUser,
    context: WriteContext,
    id: Uuid,
    headers: &HeaderMap,
    to: TaskStatus,
) -> Result<Response, ApiError> {
    let condition = if_match(headers)?;
    let mut tx = state.pool.begin().await?;
    let current = lock_task(&mut tx, &user.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    check_if_match(condition, &current)?;
    if current.status == to {
        return Ok(task_response(StatusCode::OK, &current));
    }
    let mut wanted = current.clone();
    wanted.status = to;
    wanted.completed_at = (to == TaskStatus::Completed).then(Utc::now);
    let updated = update_task(&mut tx, &wanted).await?;
    let (event_type, changes) = match to {
        TaskStatus::Completed => (EventType::TaskCompleted, None),
        TaskStatus::Pending => (EventType::TaskUpdated, Some(diff(&current, &updated))),
    };
    emit(&mut tx, event_type, &updated, changes, &context).await?;
    tx.commit().await?;
    Ok(task_response(StatusCode::OK, &updated))
}
