//! The task domain: what a change is and who makes it ([`Caller`]), the operations every way in
//! shares ([`service`]: the REST handlers in `routes/tasks`, the assistant's tools, `/mcp`),
//! request validation, the list query, `If-Match`, the events of a change and the idempotency
//! keys. No extractor or response is built here; `routes/tasks` turns requests into these calls.

pub mod creates;
mod filter;
mod idempotency;
mod input;
mod query;
mod quick;
pub mod service;
pub mod trash;
pub mod views;
mod write;

pub use creates::Creates;
pub use filter::TaskFilter;
pub use idempotency::{IDEMPOTENCY_KEY_RETENTION, prune_idempotency_keys};
pub use input::{CreateTaskRequest, UpdateTaskRequest, normalize_tags};
pub use query::{DueView, ListQuery, TagMode, TaskPage, list};
pub use quick::{quick_add, user_zone};
pub use write::{Caller, IfMatch, WriteContext, check_if_match, diff, emit};
