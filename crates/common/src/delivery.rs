//! The app side of Dapr pub/sub delivery (docs/dapr-behaviour.md §2.1, §2.4): the subscription
//! list served on `GET /dapr/subscribe` and the explicit reply every event handler gives.

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
    /// Where the sidecar sends events the handler drops or keeps failing on. Without one, a
    /// failure goes back to the component (Kafka redelivers it for ever; docs/dapr-behaviour.md
    /// §2.5).
    #[serde(
        rename = "deadLetterTopic",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dead_letter_topic: Option<String>,
}

impl DaprSubscription {
    /// `consumer`'s subscription to `topic` on `pubsub`, delivered to `route`, with
    /// `consumer`'s own dead-letter topic for it, which [`crate::dead_letters`] consumes.
    pub fn new(consumer: &str, pubsub: &str, topic: &str, route: &str) -> Self {
        Self {
            dead_letter_topic: Some(dead_letter_topic(consumer, topic)),
            ..Self::without_dead_letters(pubsub, topic, route)
        }
    }

    /// A subscription with no dead-letter topic: for the dead-letter inbox itself (a failure
    /// there must be redelivered, never parked further) and for deliveries that are worthless
    /// later (a browser push).
    pub fn without_dead_letters(pubsub: &str, topic: &str, route: &str) -> Self {
        Self {
            pubsubname: pubsub.to_owned(),
            topic: topic.to_owned(),
            route: route.to_owned(),
            dead_letter_topic: None,
        }
    }
}

/// What handling one delivered event came to; failures carry their reason, which the
/// dead-letter table keeps. Answered to the sidecar as a [`TopicReply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Handled (or handled before): acknowledge.
    Done,
    /// A transient fault: deliver again later.
    Retry(String),
    /// Can never succeed: to the dead-letter topic, or parked there.
    Drop(String),
}

impl Verdict {
    /// The status the sidecar gets.
    pub fn reply(&self) -> TopicReply {
        match self {
            Self::Done => TopicReply::Success,
            Self::Retry(_) => TopicReply::Retry,
            Self::Drop(_) => TopicReply::Drop,
        }
    }
}

impl IntoResponse for Verdict {
    fn into_response(self) -> Response {
        self.reply().into_response()
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

/// Reads a delivered task event, tolerating unknown fields. `Err` is the verdict on events
/// that can never be processed: not a CloudEvent of a task event, or a schema version this
/// build does not know. Both are dropped (to the dead-letter topic), never retried.
pub fn decode_task_event(
    body: &[u8],
) -> Result<crate::events::CloudEvent<crate::events::TaskEvent>, Verdict> {
    let envelope: crate::events::CloudEvent<crate::events::TaskEvent> =
        serde_json::from_slice(body).map_err(|error| {
            tracing::warn!(%error, "dropping undecodable event");
            Verdict::Drop(format!("not a task event: {error}"))
        })?;
    if envelope.data.schema_version != crate::events::SCHEMA_VERSION {
        tracing::warn!(id = %envelope.id, version = envelope.data.schema_version, "dropping event of unknown schema version");
        return Err(Verdict::Drop(format!(
            "unknown schema version {}",
            envelope.data.schema_version
        )));
    }
    Ok(envelope)
}

/// The verdict on a database failure while handling an event. Data and constraint errors
/// (SQLSTATE classes 22 and 23) would fail the same way on every delivery and are dropped to
/// the dead-letter topic; anything else (connection lost, pool exhausted, deadlock, shutdown)
/// is retried: by the sidecar's retry policy, then from the dead-letter table.
pub fn verdict_for_db_error(error: &sqlx::Error) -> Verdict {
    let permanent = matches!(error, sqlx::Error::Database(db)
        if db.code().is_some_and(|code| code.starts_with("22") || code.starts_with("23")));
    if permanent {
        tracing::error!(%error, "database refused the event; dropping to the dead-letter topic");
        Verdict::Drop(format!("database refused it: {error}"))
    } else {
        tracing::warn!(%error, "database unavailable; asking for redelivery");
        Verdict::Retry(format!("database unavailable: {error}"))
    }
}
