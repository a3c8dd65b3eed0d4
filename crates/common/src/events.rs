//! Event contracts: component and topic names, the CloudEvent envelope and the task event
//! payload (docs/contract.md §5). Payloads are versioned by `schema_version`; changes within a
//! version are additive and consumers ignore unknown fields, so no type here denies unknown fields.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::tasks::{Priority, RecurringMode, Task, TaskStatus};

/// The Dapr pub/sub component every task event travels through.
pub const PUBSUB: &str = "pubsub";
/// The websocket-scoped pub/sub component whose consumer group is per pod, so that every
/// websocket replica receives every event.
pub const PUBSUB_BROADCAST: &str = "pubsub-broadcast";
/// The Dapr state store (Redis): short-lived tickets and dedupe claims, never durable data.
pub const STATESTORE: &str = "statestore";
/// The cron input binding that notification uses as its safety net.
pub const REMINDER_CRON: &str = "reminder-cron";
/// The only payload schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Topic names; one constant per topic so no service spells a topic by hand.
pub mod topics {
    /// A task was created (by a user or by recurring).
    pub const TASK_CREATED: &str = "task-created";
    /// A task's fields changed.
    pub const TASK_UPDATED: &str = "task-updated";
    /// A task went from pending to completed.
    pub const TASK_COMPLETED: &str = "task-completed";
    /// A task was deleted.
    pub const TASK_DELETED: &str = "task-deleted";
    /// A reminder fired.
    pub const REMINDER_DUE: &str = "reminder-due";
    /// Every task topic, in lifecycle order.
    pub const TASK_TOPICS: [&str; 4] = [TASK_CREATED, TASK_UPDATED, TASK_COMPLETED, TASK_DELETED];
    /// An account was deleted: every service erases what it keeps of the user.
    pub const USER_DELETED: &str = "user-deleted";
}

/// `consumer`'s dead-letter topic for `topic` (`audit-task-created-dlq`): where its sidecar
/// sends the events of `topic` that `consumer` could not take. One per consumer and topic, so
/// that each service gets back only its own failures (a shared `<topic>-dlq` would hand
/// audit's failures to recurring too).
pub fn dead_letter_topic(consumer: &str, topic: &str) -> String {
    format!("{consumer}-{topic}-dlq")
}

/// What happened; serialized as the topic name (`task-created`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventType {
    /// See [`topics::TASK_CREATED`].
    TaskCreated,
    /// See [`topics::TASK_UPDATED`].
    TaskUpdated,
    /// See [`topics::TASK_COMPLETED`].
    TaskCompleted,
    /// See [`topics::TASK_DELETED`].
    TaskDeleted,
    /// See [`topics::REMINDER_DUE`].
    ReminderDue,
}

impl EventType {
    /// The topic this event type is published on.
    pub fn topic(self) -> &'static str {
        match self {
            Self::TaskCreated => topics::TASK_CREATED,
            Self::TaskUpdated => topics::TASK_UPDATED,
            Self::TaskCompleted => topics::TASK_COMPLETED,
            Self::TaskDeleted => topics::TASK_DELETED,
            Self::ReminderDue => topics::REMINDER_DUE,
        }
    }

    /// The CloudEvent `type`: `com.taskfleet.<topic>.v1`.
    pub fn cloudevent_type(self) -> String {
        format!("com.taskfleet.{}.v{SCHEMA_VERSION}", self.topic())
    }

    /// The message type pushed to browsers (`task.created`, …, `reminder.due`).
    pub fn push_type(self) -> &'static str {
        match self {
            Self::TaskCreated => "task.created",
            Self::TaskUpdated => "task.updated",
            Self::TaskCompleted => "task.completed",
            Self::TaskDeleted => "task.deleted",
            Self::ReminderDue => "reminder.due",
        }
    }
}

/// Who caused a change; recorded in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// The signed-in user, through the API.
    User,
    /// The recurring service creating a next occurrence.
    Recurring,
    /// The notification service.
    Notification,
    /// The AI assistant acting for the user.
    Assistant,
    /// Maintenance done by the system itself.
    System,
}

/// One field's value before and after an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The value before the change (`null` when it had none).
    pub before: Value,
    /// The value after the change.
    pub after: Value,
}

/// Field name → before/after, for `task-updated` events.
pub type Changes = BTreeMap<String, FieldChange>;

/// The task as carried in an event: the state after the change (for deletions, the last state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEventData {
    /// The task's id.
    pub task_id: Uuid,
    /// Title after the change.
    pub title: String,
    /// Description after the change.
    #[serde(default)]
    pub description: String,
    /// Priority after the change.
    pub priority: Priority,
    /// Normalised tags after the change.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Status after the change.
    pub status: TaskStatus,
    /// Due date, if any.
    #[serde(default)]
    pub due_date: Option<DateTime<Utc>>,
    /// Reminder time, if any.
    #[serde(default)]
    pub reminder_at: Option<DateTime<Utc>>,
    /// Recurrence preset or RRULE, if any.
    #[serde(default)]
    pub recurring_rule: Option<String>,
    /// How the next occurrence is counted.
    #[serde(default)]
    pub recurring_mode: RecurringMode,
    /// Last date of the series, if any.
    #[serde(default)]
    pub recurring_end_date: Option<DateTime<Utc>>,
    /// IANA time zone the recurrence is computed in.
    #[serde(default = "utc_name")]
    pub timezone: String,
    /// The first occurrence of the series this task belongs to.
    #[serde(default)]
    pub parent_task_id: Option<Uuid>,
    /// When the task was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the task last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When the task was completed, if it is.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// For updates: what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

fn utc_name() -> String {
    "UTC".to_owned()
}

impl TaskEventData {
    /// The event view of `task`, with the changes of an update if there were any.
    pub fn from_task(task: &Task, changes: Option<Changes>) -> Self {
        Self {
            task_id: task.id,
            title: task.title.clone(),
            description: task.description.clone(),
            priority: task.priority,
            tags: task.tags.clone(),
            status: task.status,
            due_date: task.due_date,
            reminder_at: task.reminder_at,
            recurring_rule: task.recurring_rule.clone(),
            recurring_mode: task.recurring_mode,
            recurring_end_date: task.recurring_end_date,
            timezone: task.timezone.clone(),
            parent_task_id: task.parent_task_id,
            created_at: Some(task.created_at),
            updated_at: Some(task.updated_at),
            completed_at: task.completed_at,
            changes,
        }
    }
}

/// The `data` of every task CloudEvent (docs/contract.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// Unique per change; equal to the CloudEvent `id`, stable across retries.
    pub event_id: Uuid,
    /// What happened.
    pub event_type: EventType,
    /// Payload schema version; consumers drop versions they do not know.
    pub schema_version: u32,
    /// When the change was committed (the writer's clock).
    pub timestamp: DateTime<Utc>,
    /// The owner of the task; also the partition key.
    pub user_id: String,
    /// Ties together the events caused by one request (the request id).
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Who made the change.
    pub actor: Actor,
    /// The task's `version` after the change, so clients can ignore stale pushes.
    pub task_version: i64,
    /// The task after the change.
    pub data: TaskEventData,
}

impl TaskEvent {
    /// A new event about `task` with a fresh time-ordered id.
    pub fn new(
        event_type: EventType,
        actor: Actor,
        task: &Task,
        changes: Option<Changes>,
        correlation_id: Option<String>,
    ) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type,
            schema_version: SCHEMA_VERSION,
            timestamp: Utc::now(),
            user_id: task.user_id.clone(),
            correlation_id,
            actor,
            task_version: task.version,
            data: TaskEventData::from_task(task, changes),
        }
    }
}

/// `traceid` beside `traceparent`: daprd keeps an envelope's `traceparent` only when it has a
/// `traceid` too, and otherwise replaces both with a span of the publish request — in a bulk
/// publish, one request for the events of many writes (docs/dapr-behaviour.md §1.2, §1.5).
fn trace_id(traceparent: &Option<String>) -> BTreeMap<String, Value> {
    traceparent
        .iter()
        .map(|t| ("traceid".to_owned(), Value::String(t.clone())))
        .collect()
}

/// A CloudEvent 1.0 envelope as taskfleet publishes it (`application/cloudevents+json`) and as
/// Dapr delivers it. Fields Dapr adds (`topic`, `pubsubname`, `traceid`, …) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent<T> {
    /// Always `1.0`.
    pub specversion: String,
    /// The event id (for taskfleet events: the `event_id` of the payload).
    pub id: String,
    /// The publishing app-id.
    pub source: String,
    /// `com.taskfleet.<topic>.v1`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Always `application/json` for taskfleet events.
    #[serde(default)]
    pub datacontenttype: Option<String>,
    /// When the event was created.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// W3C trace context of the change that caused the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The payload.
    pub data: T,
    /// Anything else on the envelope (Dapr's `topic`, `pubsubname`, trace fields, …).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The `data` of a `user-deleted` CloudEvent: the user deleted their account, and every service
/// erases what it keeps of them (idempotently: a redelivery finds nothing left to erase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDeleted {
    /// Unique per deletion; equal to the CloudEvent `id`.
    pub event_id: Uuid,
    /// Payload schema version; consumers drop versions they do not know.
    pub schema_version: u32,
    /// When the deletion was committed.
    pub timestamp: DateTime<Utc>,
    /// The deleted user; also the partition key, so it follows the user's task events.
    pub user_id: String,
    /// The request that deleted the account.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl UserDeleted {
    /// The CloudEvent `type` of the event.
    pub const CLOUDEVENT_TYPE: &str = "com.taskfleet.user-deleted.v1";

    /// A new event for `user_id` with a fresh time-ordered id.
    pub fn new(user_id: &str, correlation_id: Option<String>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            schema_version: SCHEMA_VERSION,
            timestamp: Utc::now(),
            user_id: user_id.to_owned(),
            correlation_id,
        }
    }
}

impl CloudEvent<UserDeleted> {
    /// The envelope for a `user-deleted` event published by `source` (an app-id).
    pub fn for_user_deleted(source: &str, event: UserDeleted, traceparent: Option<String>) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: event.event_id.to_string(),
            source: source.to_owned(),
            event_type: UserDeleted::CLOUDEVENT_TYPE.to_owned(),
            datacontenttype: Some("application/json".to_owned()),
            time: Some(event.timestamp),
            extra: trace_id(&traceparent),
            traceparent,
            data: event,
        }
    }
}

impl CloudEvent<TaskEvent> {
    /// The envelope for a task event published by `source` (an app-id).
    pub fn for_task_event(source: &str, event: TaskEvent, traceparent: Option<String>) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: event.event_id.to_string(),
            source: source.to_owned(),
            event_type: event.event_type.cloudevent_type(),
            datacontenttype: Some("application/json".to_owned()),
            time: Some(event.timestamp),
            extra: trace_id(&traceparent),
            traceparent,
            data: event,
        }
    }
}
