//! The `reminder-due` event contract (docs/contract.md §5): what notification publishes when a
//! reminder fires and what websocket reads to push `reminder.due`. Same envelope rules as task
//! events (CloudEvent id = `event_id`, `source` = app-id, `type` = `com.taskfleet.reminder-due.v1`,
//! partition key = user id); the payload mirrors [`crate::events::TaskEvent`] except that its
//! `data` describes the reminder instead of carrying a whole task snapshot.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{Actor, CloudEvent, EventType, SCHEMA_VERSION};

/// The `data` of a `reminder-due` CloudEvent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderDueEvent {
    /// Unique per fired reminder; equal to the CloudEvent `id`.
    pub event_id: Uuid,
    /// Always [`EventType::ReminderDue`].
    pub event_type: EventType,
    /// Payload schema version.
    pub schema_version: u32,
    /// When the reminder fired.
    pub timestamp: DateTime<Utc>,
    /// The owner of the task; also the partition key.
    pub user_id: String,
    /// Always [`Actor::Notification`].
    pub actor: Actor,
    /// The task's `version` when the reminder fired.
    pub task_version: i64,
    /// The reminder.
    pub data: ReminderDueData,
}

/// What fired: the task, its reminder time and the notification stored for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderDueData {
    /// The task the reminder belongs to.
    pub task_id: Uuid,
    /// The task's title when the reminder fired.
    pub title: String,
    /// The reminder time that fired.
    pub reminder_at: DateTime<Utc>,
    /// The notification row created for it (`GET /api/notifications` on notification).
    pub notification_id: Uuid,
    /// The task's due date, if any.
    #[serde(default)]
    pub due_date: Option<DateTime<Utc>>,
}

impl ReminderDueEvent {
    /// A new event with a fresh time-ordered id, fired at `fired_at`.
    pub fn new(
        user_id: String,
        task_version: i64,
        data: ReminderDueData,
        fired_at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: EventType::ReminderDue,
            schema_version: SCHEMA_VERSION,
            timestamp: fired_at,
            user_id,
            actor: Actor::Notification,
            task_version,
            data,
        }
    }
}

impl CloudEvent<ReminderDueEvent> {
    /// The envelope for a reminder published by `source` (an app-id).
    pub fn for_reminder(source: &str, event: ReminderDueEvent) -> Self {
        Self {
            specversion: "1.0".to_owned(),
            id: event.event_id.to_string(),
            source: source.to_owned(),
            event_type: event.event_type.cloudevent_type(),
            datacontenttype: Some("application/json".to_owned()),
            time: Some(event.timestamp),
            traceparent: None,
            data: event,
            extra: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_reminder_envelope_carries_the_event_id_type_and_reminder() {
        let at = Utc::now();
        let data = ReminderDueData {
            task_id: Uuid::new_v4(),
            title: "call mum".to_owned(),
            reminder_at: at,
            notification_id: Uuid::new_v4(),
            due_date: None,
        };
        let event = ReminderDueEvent::new("alice".to_owned(), 3, data, at);
        let id = event.event_id;
        let json = serde_json::to_value(CloudEvent::for_reminder("notification", event)).unwrap();
        assert_eq!(json["id"], id.to_string());
        assert_eq!(json["type"], "com.taskfleet.reminder-due.v1");
        assert_eq!(json["source"], "notification");
        assert_eq!(json["data"]["event_type"], "reminder-due");
        assert_eq!(json["data"]["actor"], "notification");
        assert_eq!(json["data"]["data"]["title"], "call mum");
        let back: CloudEvent<ReminderDueEvent> = serde_json::from_value(json).unwrap();
        assert_eq!(back.data.event_id, id);
    }
}
