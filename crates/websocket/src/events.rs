//! Event deliveries from the sidecar, turned into browser pushes.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use common::delivery::{
    BulkReply, BulkSubscribe, DaprSubscription, Delivery, TopicReply, decode_user_deleted,
};
use common::events::{EventType, PUBSUB_BROADCAST, topics};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::hub::Push;
use crate::startup::AppState;

/// Every task topic and `reminder-due`, on the per-pod broadcast component, in batches when
/// `batching` is set, and `user-deleted` one by one. No dead-letter topics: a push is worth
/// something only now (a client that missed one re-reads its list when it reconnects), and the
/// handlers never ask for a retry.
pub fn subscriptions(batching: Option<BulkSubscribe>) -> Vec<DaprSubscription> {
    topics::TASK_TOPICS
        .iter()
        .chain([&topics::REMINDER_DUE])
        .map(|topic| {
            DaprSubscription::without_dead_letters(
                PUBSUB_BROADCAST,
                topic,
                &format!("/events/{topic}"),
            )
            .in_batches(batching)
        })
        .chain([DaprSubscription::without_dead_letters(
            PUBSUB_BROADCAST,
            topics::USER_DELETED,
            &format!("/events/{}", topics::USER_DELETED),
        )])
        .collect()
}

/// The message that tells every open page of a deleted account that it is gone.
pub const ACCOUNT_DELETED: &str = r#"{"type":"account.deleted"}"#;

/// `POST /events/user-deleted`: tells the user's connections on this replica that the account
/// was deleted and closes them ([`crate::hub::Hub::end_user`]); from then on the user's tokens
/// and tickets open nothing here.
pub async fn on_user_deleted(State(state): State<AppState>, body: Bytes) -> TopicReply {
    match decode_user_deleted(&body) {
        Ok(event) => {
            state.erased.insert(&event.user_id);
            let fanout = state.hub.end_user(Push {
                event_id: event.event_id.to_string(),
                user_id: event.user_id,
                json: ACCOUNT_DELETED.to_owned(),
                last: true,
            });
            tracing::info!(?fanout, "connections of a deleted account closed");
            TopicReply::Success
        }
        Err(_) => TopicReply::Drop,
    }
}

/// The parts of an event payload a push needs. Task events and reminders share this outer
/// shape (docs/contract.md §5), so one reader serves every topic; unknown fields are ignored.
/// The task (`data`) stays JSON text until a push needs it.
#[derive(Deserialize)]
struct Payload<'a> {
    event_id: String,
    event_type: EventType,
    user_id: String,
    #[serde(default)]
    task_version: Option<i64>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Payload<'a>,
}

/// The payload of a delivered CloudEvent, or the reply for one that can never be pushed (not
/// an event of ours).
fn payload_of(body: &[u8]) -> Result<Payload<'_>, TopicReply> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|error| {
        tracing::warn!(%error, "dropping an event that cannot be pushed");
        TopicReply::Drop
    })?;
    let payload = envelope.data;
    if payload.user_id.is_empty() || payload.event_id.is_empty() {
        return Err(TopicReply::Drop);
    }
    Ok(payload)
}

/// The browser message for an event's payload.
fn push_of(payload: Payload<'_>) -> Push {
    // The task's text was read as JSON with the event: it parses.
    let mut data: Value = payload
        .data
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null);
    // Task pushes carry the task in the REST shape (`id`, `version`), so a client can put it
    // straight into its list.
    if payload.event_type != EventType::ReminderDue
        && let Value::Object(task) = &mut data
    {
        if let Some(id) = task.get("task_id").cloned() {
            task.insert("id".to_owned(), id);
        }
        if let Some(version) = payload.task_version {
            task.insert("version".to_owned(), version.into());
        }
    }
    let message = json!({
        "type": payload.event_type.push_type(),
        "event_id": payload.event_id,
        "task_id": data.get("task_id").cloned().unwrap_or(Value::Null),
        "version": payload.task_version,
        "task": data,
    });
    Push {
        event_id: payload.event_id,
        user_id: payload.user_id,
        json: message.to_string(),
        last: false,
    }
}

/// `POST /events/{topic}`: pushes the event (or each event of a batch) to this replica's
/// connections of its user. Nothing here can fail transiently, so the answer is SUCCESS or
/// DROP, never RETRY.
pub async fn on_event(State(state): State<AppState>, body: Bytes) -> Response {
    let push = |body: &[u8]| match payload_of(body) {
        // Nothing on this replica would take it: no connection of the user and no replay
        // buffer. Its message is not built, and its id is not remembered: a redelivery after
        // the user connects is pushed (most users are offline most of the time).
        Ok(payload) if !state.hub.has_user(&payload.user_id) => TopicReply::Success,
        Ok(payload) => {
            let fanout = state.hub.publish(push_of(payload));
            tracing::debug!(?fanout, "pushed");
            TopicReply::Success
        }
        Err(reply) => reply,
    };
    match Delivery::read(&body) {
        Delivery::One(body) => push(body).into_response(),
        Delivery::Bulk(batch) => {
            let mut reply = BulkReply::default();
            for entry in &batch.entries {
                reply.push(entry, push(entry.event_bytes()));
            }
            reply.into_response()
        }
    }
}
