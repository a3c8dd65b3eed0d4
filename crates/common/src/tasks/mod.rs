//! The task model and the repository that every writer of tasks goes through (backend-api for
//! users, recurring for next occurrences). Every function filters by owner: a task id alone
//! never reaches a row.

mod model;
mod repo;

pub use model::{NewTask, Priority, RecurringMode, Task, TaskStatus};
pub use repo::{
    TASK_COLUMNS, delete_task, get_task, get_tasks, insert_task, insert_tasks, lock_task,
    reinsert_task, update_task,
};
