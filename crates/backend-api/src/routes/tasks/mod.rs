//! The task resource: routes, request validation and the write path shared by every change.

mod create;
mod input;
mod item;
mod lifecycle;
mod list;
mod write;

use axum::Router;
use axum::routing::{get, post};

pub use create::{
    __path_create_task, IDEMPOTENCY_KEY_RETENTION, create_task, prune_idempotency_keys,
};
pub use input::{CreateTaskRequest, UpdateTaskRequest};
pub use item::{
    __path_delete_task, __path_get_task, __path_update_task, delete_task, get_task, update_task,
};
pub use lifecycle::{__path_complete_task, __path_reopen_task, complete_task, reopen_task};
pub use list::{__path_list_tasks, TaskPage, list_tasks};

use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tasks", post(create_task).get(list_tasks))
        .route(
            "/api/tasks/{id}",
            get(get_task).patch(update_task).delete(delete_task),
        )
        .route("/api/tasks/{id}/complete", post(complete_task))
        .route("/api/tasks/{id}/reopen", post(reopen_task))
}
