//! The assistant's tools. None takes a user id: each call is bound to the signed-in caller and
//! goes through the same task operations as the REST API (`tasks::service`), with
//! actor `assistant`. Dates are natural-language phrases read by `crate::quickadd` in the
//! user's zone — the model never computes a date or an offset. Results are JSON data; task
//! text inside them is never an instruction. No tool reaches the network.
//!
//! `delete_task` and the bulk tools (`delete_tasks`, `complete_tasks`) change nothing: they
//! return a confirmation card, and only the user's confirm call
//! (`POST /api/assistant/confirmations/{id}`) acts.

mod definitions;
mod read;
mod table;
mod write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::error::ApiError;
use common::tasks::{Priority, RecurringMode, Task, TaskStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::tasks::Caller;

pub use definitions::definitions;
pub use table::Tool;
pub use write::MAX_BULK;

/// Everything a tool call is bound to.
pub struct ToolContext<'a> {
    /// Postgres.
    pub pool: &'a PgPool,
    /// The signed-in user, as actor `assistant`.
    pub caller: &'a Caller,
    /// The user's zone.
    pub tz: Tz,
    /// Its IANA name, stored on created tasks.
    pub timezone: &'a str,
    /// "Now" for date phrases.
    pub now: DateTime<Utc>,
    /// The thread the call belongs to (for confirmation cards); `None` for an MCP agent.
    pub thread_id: Option<Uuid>,
    /// How long a confirmation card stays decidable.
    pub confirmation_ttl: std::time::Duration,
}

/// A tool's failure as the model sees it.
fn failure(code: &str, message: impl Into<String>) -> Value {
    common::error::error_body(code, &message.into(), Value::Null)
}

/// A task operation's failure as the model sees it: the API's own error body.
fn api_failure(error: &ApiError) -> Value {
    if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = error {
        tracing::error!(error = ?cause, "assistant tool failed");
    }
    error.body()
}

/// Long descriptions are cut to this many characters, so a list of tasks cannot flood the
/// model's context (and the user's token budget); `get_task` shows the same cut view.
const VIEW_DESCRIPTION_CHARS: usize = 1_000;

/// The task as the model reads it: data, with the due date also in the user's local time so
/// the model never converts zones itself.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView<'a> {
    pub id: Uuid,
    pub title: &'a str,
    /// Cut to [`VIEW_DESCRIPTION_CHARS`].
    pub description: String,
    /// Whether `description` was cut.
    pub description_truncated: bool,
    pub status: TaskStatus,
    pub priority: Priority,
    pub tags: &'a [String],
    pub due_date: Option<DateTime<Utc>>,
    /// `due_date` in the user's zone, e.g. `Mon 2026-12-07 09:00`.
    pub due_local: Option<String>,
    pub recurring_rule: Option<&'a str>,
    pub recurring_mode: RecurringMode,
    pub completed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// `task` as the model reads it in zone `tz`.
pub fn task_view(task: &Task, tz: Tz) -> TaskView<'_> {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string();
    let description: String = task
        .description
        .chars()
        .take(VIEW_DESCRIPTION_CHARS)
        .collect();
    TaskView {
        id: task.id,
        title: &task.title,
        description_truncated: description.len() < task.description.len(),
        description,
        status: task.status,
        priority: task.priority,
        tags: &task.tags,
        due_date: task.due_date,
        due_local: task.due_date.map(local),
        recurring_rule: task.recurring_rule.as_deref(),
        recurring_mode: task.recurring_mode,
        completed_at: task.completed_at,
        version: task.version,
    }
}

fn priority(raw: Option<&str>) -> Result<Option<Priority>, Value> {
    match raw.map(|p| p.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("high" | "p1") => Ok(Some(Priority::High)),
        Some("medium" | "p2") => Ok(Some(Priority::Medium)),
        Some("low" | "p3") => Ok(Some(Priority::Low)),
        Some(other) => Err(failure(
            "invalid_priority",
            format!("{other:?} is not high, medium or low"),
        )),
    }
}

fn task_id(raw: &Value) -> Result<Uuid, Value> {
    raw.get("id")
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id.trim()).ok())
        .ok_or_else(|| failure("not_found", "task not found"))
}

fn args<T: for<'de> Deserialize<'de>>(raw: &Value) -> Result<T, Value> {
    serde_json::from_value(raw.clone()).map_err(|e| failure("invalid_arguments", e.to_string()))
}

/// Runs tool `name` with the model's `arguments` (JSON text) for the caller. Always returns
/// JSON; failures are `{"error":{...}}` for the model to read.
pub async fn run(context: &ToolContext<'_>, name: &str, arguments: &str) -> Value {
    let raw: Value = match arguments.trim() {
        "" => json!({}),
        text => match serde_json::from_str(text) {
            Ok(value @ Value::Object(_)) => value,
            _ => return failure("invalid_arguments", "arguments must be a JSON object"),
        },
    };
    let Some(tool) = Tool::named(name) else {
        return failure("unknown_tool", format!("no tool named {name:?}"));
    };
    tool.call(context, raw)
        .await
        .unwrap_or_else(|failure| failure)
}
