//! The app side of Dapr pub/sub delivery (docs/dapr-behaviour.md §2.1, §2.4, §2.6): the
//! subscription list served on `GET /dapr/subscribe`, the explicit reply every event handler
//! gives, and bulk deliveries with their per-entry replies.

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
    /// Batches instead of single deliveries ([`BulkSubscribe`]).
    #[serde(
        rename = "bulkSubscribe",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bulk_subscribe: Option<BulkSubscribe>,
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
            bulk_subscribe: None,
        }
    }

    /// This subscription delivered in batches, when `batching` is set.
    pub fn in_batches(self, batching: Option<BulkSubscribe>) -> Self {
        Self {
            bulk_subscribe: batching,
            ..self
        }
    }
}

/// `bulkSubscribe` of a subscription: the sidecar delivers up to `max_messages_count` events
/// in one request, waiting up to `max_await_duration_ms` to gather them.
///
/// Worth it only where the broker batches by itself: Kafka forms a batch per partition from
/// what has arrived, flushed on a periodic ticker of the wait, so a lone event waits up to that
/// long. Components without native batching (Redis Streams) go through daprd's default bulk
/// subscriber, whose batch holds no more events than the component hands over at once; with
/// `concurrency: "1"` every event would wait the whole window alone. So it is off unless set
/// (`BULK_SUBSCRIBE_MAX_MESSAGES`), and the chart sets it where the broker is Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkSubscribe {
    /// Always true when present.
    pub enabled: bool,
    /// The most events in one request.
    pub max_messages_count: u32,
    /// How long the sidecar gathers a batch, in milliseconds.
    pub max_await_duration_ms: u32,
}

impl BulkSubscribe {
    /// `BULK_SUBSCRIBE_MAX_MESSAGES` (unset or 0: off) and `BULK_SUBSCRIBE_MAX_AWAIT_MS`
    /// (default `default_await_ms`, the service's own latency budget).
    pub fn from_env(default_await_ms: u32) -> anyhow::Result<Option<Self>> {
        let read = |name: &str| -> anyhow::Result<Option<u32>> {
            match std::env::var(name) {
                Ok(value) if !value.trim().is_empty() => {
                    let parsed = value.trim().parse::<u32>().map_err(|error| {
                        anyhow::anyhow!("{name} must be a whole number, not {value:?}: {error}")
                    })?;
                    Ok(Some(parsed))
                }
                _ => Ok(None),
            }
        };
        let Some(count) = read("BULK_SUBSCRIBE_MAX_MESSAGES")?.filter(|n| *n > 0) else {
            return Ok(None);
        };
        let await_ms = read("BULK_SUBSCRIBE_MAX_AWAIT_MS")?.unwrap_or(default_await_ms);
        anyhow::ensure!(await_ms > 0, "BULK_SUBSCRIBE_MAX_AWAIT_MS must be above 0");
        Ok(Some(Self {
            enabled: true,
            max_messages_count: count,
            max_await_duration_ms: await_ms,
        }))
    }
}

/// A delivered request body: one CloudEvent, or a batch of them (`com.dapr.event.sent.bulk`).
/// A handler on a subscription that may be bulk reads every body through this, since the same
/// route receives either depending on the deployment's [`BulkSubscribe`].
pub enum Delivery<'a> {
    /// One event: the body as is.
    One(&'a [u8]),
    /// A batch; each entry is answered in a [`BulkReply`].
    Bulk(BulkDelivery),
}

impl<'a> Delivery<'a> {
    /// Tells a bulk request from a single event by its `type`. A body that is not JSON, or not
    /// a bulk request, is a single event (its handler decides what it is worth).
    pub fn read(body: &'a [u8]) -> Self {
        #[derive(Deserialize)]
        struct Kind<'k> {
            #[serde(default, rename = "type", borrow)]
            kind: Option<std::borrow::Cow<'k, str>>,
        }
        let bulk = serde_json::from_slice::<Kind>(body)
            .is_ok_and(|k| k.kind.as_deref() == Some(BULK_EVENT_TYPE));
        if bulk && let Ok(batch) = serde_json::from_slice::<BulkDelivery>(body) {
            return Self::Bulk(batch);
        }
        Self::One(body)
    }
}

/// The `type` of a bulk delivery's body.
pub const BULK_EVENT_TYPE: &str = "com.dapr.event.sent.bulk";

/// A bulk delivery (`pkg/runtime/pubsub/bulksubscribe_events.go`): the fields a handler needs.
#[derive(Debug, Deserialize)]
pub struct BulkDelivery {
    /// The events, in the order of their partition.
    #[serde(default)]
    pub entries: Vec<BulkEntry>,
}

/// One event of a bulk delivery.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkEntry {
    /// What the reply names this entry by.
    #[serde(default)]
    pub entry_id: String,
    /// The CloudEvent, as the JSON text it came as: its handler reads it once, as it reads a
    /// single delivery's body, where a `Value` tree written out again cost every entry two
    /// parses and a write (docs/benchmarks.md, "tenth pass").
    #[serde(default)]
    pub event: Option<Box<serde_json::value::RawValue>>,
}

impl BulkEntry {
    /// The event as the bytes a single delivery would have carried (`null` when it had none).
    pub fn event_bytes(&self) -> &[u8] {
        self.event
            .as_deref()
            .map_or(b"null".as_slice(), |raw| raw.get().as_bytes())
    }
}

/// The reply to a bulk delivery: a status per entry. Sent as 200; an entry left out would be
/// retried, so every entry gets one.
#[derive(Debug, Default, Serialize)]
pub struct BulkReply {
    statuses: Vec<EntryStatus>,
}

#[derive(Debug, Serialize)]
struct EntryStatus {
    #[serde(rename = "entryId")]
    entry_id: String,
    status: TopicReply,
}

impl BulkReply {
    /// Answers `entry` with `status`.
    pub fn push(&mut self, entry: &BulkEntry, status: TopicReply) {
        self.statuses.push(EntryStatus {
            entry_id: entry.entry_id.clone(),
            status,
        });
    }
}

impl IntoResponse for BulkReply {
    fn into_response(self) -> Response {
        Json(self).into_response()
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

/// Decodes a `user-deleted` delivery; anything else, or a schema version this build does not
/// know, is a verdict to drop.
pub fn decode_user_deleted(body: &[u8]) -> Result<crate::events::UserDeleted, Verdict> {
    let envelope: crate::events::CloudEvent<crate::events::UserDeleted> =
        serde_json::from_slice(body).map_err(|error| {
            tracing::warn!(%error, "dropping undecodable user-deleted event");
            Verdict::Drop(format!("not a user-deleted event: {error}"))
        })?;
    if envelope.event_type != crate::events::UserDeleted::CLOUDEVENT_TYPE {
        return Err(Verdict::Drop(format!(
            "a {} event on the user-deleted topic",
            envelope.event_type
        )));
    }
    if envelope.data.schema_version != crate::events::SCHEMA_VERSION {
        return Err(Verdict::Drop(format!(
            "unknown schema version {}",
            envelope.data.schema_version
        )));
    }
    Ok(envelope.data)
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
