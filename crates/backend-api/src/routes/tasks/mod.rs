//! The task routes: thin handlers that read the request, call [`crate::tasks`] and answer.

mod create;
mod http;
mod item;
mod lifecycle;
mod list;
mod parse;
mod snooze;
mod trash;

use axum::Router;
use axum::routing::{delete, get, post};

pub use create::{__path_create_task, create_task};
pub use item::{
    __path_delete_task, __path_get_task, __path_update_task, delete_task, get_task, update_task,
};
pub use lifecycle::{__path_complete_task, __path_reopen_task, complete_task, reopen_task};
pub use list::{__path_list_tasks, list_tasks};
pub use parse::{
    __path_parse_task, ParseRequest, ParsedSpan, ParsedSpanKind, ParsedTask, parse_task,
};
pub use snooze::{__path_snooze_task, SnoozeFor, SnoozeRequest, snooze_task};
pub use trash::{
    __path_empty_trash, __path_list_trash, __path_remove_from_trash, __path_restore_task, Emptied,
    empty_trash, list_trash, remove_from_trash, restore_task,
};

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
        .route("/api/tasks/{id}/snooze", post(snooze_task))
        .route("/api/tasks/parse", post(parse_task))
        .route("/api/tasks/trash", get(list_trash).delete(empty_trash))
        .route("/api/tasks/trash/{id}", delete(remove_from_trash))
        .route("/api/tasks/trash/{id}/restore", post(restore_task))
}
