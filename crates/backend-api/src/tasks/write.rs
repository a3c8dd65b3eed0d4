//! The write path every change shares: who acts ([`Caller`]) with which request context, the
//! `If-Match` condition, the diff of an update, and the event written to the outbox in the
//! caller's transaction.

use common::error::ApiError;
use common::events::{Actor, Changes, EventType, FieldChange, TaskEvent};
use common::outbox::OutboxEntry;
use common::tasks::Task;
use sqlx::PgConnection;

use crate::startup::SERVICE;

/// Who asks for a change: the owner whose tasks it may touch (never chosen by the request body
/// or a model), who made it (recorded in the event and so in the audit trail) and the request
/// context the event carries.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The signed-in user (JWT `sub`); every query filters on it.
    pub user_id: String,
    /// `user` for REST calls, `assistant` for the assistant's tools.
    pub actor: Actor,
    /// Correlation id and trace context for the events.
    pub context: WriteContext,
}

impl Caller {
    /// The user acting through the REST API.
    pub fn user(user_id: impl Into<String>, context: WriteContext) -> Self {
        Self {
            user_id: user_id.into(),
            actor: Actor::User,
            context,
        }
    }

    /// The assistant acting for `user_id`.
    pub fn assistant(user_id: impl Into<String>, context: WriteContext) -> Self {
        Self {
            user_id: user_id.into(),
            actor: Actor::Assistant,
            context,
        }
    }
}

/// Per-request data carried into events: the request id as correlation id and the W3C trace
/// context (the caller's, or a new one) so Dapr's traces join the request's.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub correlation_id: Option<String>,
    pub traceparent: String,
}

fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 4
        && [2, 32, 16, 2]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl WriteContext {
    /// A context for a request: its id as correlation id and its `traceparent` when that is a
    /// valid W3C one, else a fresh trace.
    pub fn from_request(correlation_id: Option<String>, traceparent: Option<String>) -> Self {
        Self {
            correlation_id,
            traceparent: traceparent
                .filter(|t| valid_traceparent(t))
                .unwrap_or_else(new_traceparent),
        }
    }

    /// A context with no request id and a fresh trace.
    pub fn detached() -> Self {
        Self {
            correlation_id: None,
            traceparent: new_traceparent(),
        }
    }
}

fn new_traceparent() -> String {
    let trace: [u8; 16] = rand::random();
    let span: [u8; 8] = rand::random();
    format!("00-{}-{}-01", hex::encode(trace), hex::encode(span))
}

/// The outbox entry for a change of `task` with the caller's actor and request context, for a
/// statement that writes the change and its event together.
pub fn event(
    event_type: EventType,
    task: &Task,
    changes: Option<Changes>,
    caller: &Caller,
) -> Result<OutboxEntry, ApiError> {
    let event = TaskEvent::new(
        event_type,
        caller.actor,
        task,
        changes,
        caller.context.correlation_id.clone(),
    );
    let traceparent = Some(caller.context.traceparent.clone());
    Ok(OutboxEntry::task_event(SERVICE, event, traceparent)?)
}

/// Writes the event for a change of `task` to the outbox, in the caller's transaction, with
/// the caller's actor.
pub async fn emit(
    conn: &mut PgConnection,
    event_type: EventType,
    task: &Task,
    changes: Option<Changes>,
    caller: &Caller,
) -> Result<(), ApiError> {
    event(event_type, task, changes, caller)?
        .write(conn)
        .await?;
    Ok(())
}

/// The fields that differ between `before` and `after`, as JSON before/after pairs. Bookkeeping
/// fields (version, timestamps) are not changes a user made.
pub fn diff(before: &Task, after: &Task) -> Changes {
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Changes::new();
    };
    const BOOKKEEPING: [&str; 4] = ["version", "updated_at", "created_at", "id"];
    new.into_iter()
        .filter(|(field, _)| !BOOKKEEPING.contains(&field.as_str()))
        .filter_map(|(field, after)| {
            let before = old.get(&field).cloned().unwrap_or_default();
            (before != after).then_some((field, FieldChange { before, after }))
        })
        .collect()
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// `"<version>"`.
    Version(i64),
}

/// 412 unless `condition` accepts the task's current version.
pub fn check_if_match(condition: Option<IfMatch>, task: &Task) -> Result<(), ApiError> {
    match condition {
        Some(IfMatch::Version(v)) if v != task.version => Err(ApiError::PreconditionFailed {
            current: task.version,
        }),
        _ => Ok(()),
    }
}
