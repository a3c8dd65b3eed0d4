//! The app side of Dapr pub/sub delivery (reference §2.1, §2.4): the subscription list served
//! on `GET /dapr/subscribe` and the explicit reply every event handler gives.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::events::dead_letter_topic;

/// One programmatic subscription, in the exact shape daprd reads (field names case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaprSubscription {
    /// The pub/sub component.
    pub pubsubname: String,
    /// The topic.
    pub topic: String,
    /// The app route the sidecar POSTs each event to.
    pub route: String,
    /// Where events the handler drops or keeps failing on are parked.
    #[serde(rename = "deadLetterTopic")]
    pub dead_letter_topic: String,
}

impl DaprSubscription {
    /// A subscription to `topic` on `pubsub`, delivered to `route`, with the topic's
    /// dead-letter topic (every subscription has one: SPEC §5).
    pub fn new(pubsub: &str, topic: &str, route: &str) -> Self {
        Self {
            pubsubname: pubsub.to_owned(),
            topic: topic.to_owned(),
            route: route.to_owned(),
            dead_letter_topic: dead_letter_topic(topic),
        }
    }
}

/// The reply to one delivery. Always sent as 200 with an exact status string: a bare 404 would
/// make Dapr drop the event and any other error status would make it retry (§2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TopicReply {
    /// Processed (or already processed before): acknowledge.
    Success,
    /// A transient fault (database down): deliver again later.
    Retry,
    /// Can never succeed (malformed, unknown schema): send to the dead-letter topic.
    Drop,
}

impl IntoResponse for TopicReply {
    fn into_response(self) -> Response {
        Json(serde_json::json!({ "status": self })).into_response()
    }
}

/// Reads a delivered task event, tolerating unknown fields. `Err` carries the reply for events
/// that can never be processed: not a CloudEvent of a task event, or a schema version this
/// build does not know. Both are dropped (to the dead-letter topic), never retried.
pub fn decode_task_event(
    body: &[u8],
) -> Result<crate::events::CloudEvent<crate::events::TaskEvent>, TopicReply> {
    let envelope: crate::events::CloudEvent<crate::events::TaskEvent> =
        serde_json::from_slice(body).map_err(|error| {
            tracing::warn!(%error, "dropping undecodable event");
            TopicReply::Drop
        })?;
    if envelope.data.schema_version != crate::events::SCHEMA_VERSION {
        tracing::warn!(id = %envelope.id, version = envelope.data.schema_version, "dropping event of unknown schema version");
        return Err(TopicReply::Drop);
    }
    Ok(envelope)
}

/// The reply for a database failure while handling an event. Data and constraint errors
/// (SQLSTATE classes 22 and 23) would fail the same way on every delivery and are dropped to
/// the dead-letter topic; anything else (connection lost, pool exhausted, deadlock, shutdown)
/// is retried, which the sidecar's bounded retry policy turns into a dead letter if it persists.
pub fn reply_for_db_error(error: &sqlx::Error) -> TopicReply {
    let permanent = matches!(error, sqlx::Error::Database(db)
        if db.code().is_some_and(|code| code.starts_with("22") || code.starts_with("23")));
    if permanent {
        tracing::error!(%error, "database refused the event; dropping to the dead-letter topic");
        TopicReply::Drop
    } else {
        tracing::warn!(%error, "database unavailable; asking for redelivery");
        TopicReply::Retry
    }
}
