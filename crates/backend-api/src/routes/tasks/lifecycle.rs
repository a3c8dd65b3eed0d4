//! `POST /api/tasks/{id}/complete` and `/reopen`. Both are idempotent: completing a completed
//! task (or reopening a pending one) changes nothing and publishes nothing.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::ApiPath;
use common::limits::Limited;
use common::tasks::{Task, TaskStatus};
use uuid::Uuid;

use super::http::{if_match, task_response};
use crate::limits::Writes;
use crate::startup::AppState;
use crate::tasks::{Caller, WriteContext, service};

/// Marks the task completed and publishes `task-completed`.
#[utoipa::path(post, path = "/api/tasks/{id}/complete", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Task), (status = 404, description = "no such task")))]
pub async fn complete_task(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
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
    Limited(user, _): Limited<Writes>,
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
    let caller = Caller::user(user.user_id, context);
    let mut tx = state.pool.begin().await?;
    let task = match to {
        TaskStatus::Completed => service::complete(&mut tx, &caller, id, condition).await?,
        TaskStatus::Pending => service::reopen(&mut tx, &caller, id, condition).await?,
    };
    common::outbox::commit(tx).await?;
    Ok(task_response(StatusCode::OK, &task))
}
