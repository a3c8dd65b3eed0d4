//! Bulk subscribe (docs/dapr-behaviour.md §2.6): a subscription with `bulkSubscribe.enabled`
//! gets its messages in batches, one POST per batch and route, and answers with a status per
//! entry.
//!
//! How daprd forms and settles batches (dapr/dapr d8450742, components-contrib c23900d2):
//! * **Kafka batches natively** (`common/component/kafka/consumer.go` `ConsumeClaim`): per
//!   partition, a buffer and a periodic ticker of `maxAwaitDurationMs` that does not wait for a
//!   message (a lone message waits up to one period). The buffer is flushed when it holds
//!   `maxMessagesCount` messages (the ticker then restarts) or on a tick. The flush is
//!   synchronous: the partition reads nothing more until the batch is settled. Defaults 80
//!   messages / 10 000 ms (`utils.go`); a subscription value above 0 wins.
//! * **Every other component goes through the default bulk subscriber**
//!   (`pkg/runtime/pubsub/default_bulksub.go`). Each message the component hands over joins the
//!   batch, and its handler waits until the batch is flushed, so a batch holds at most as many
//!   messages as the component delivers at once (Redis Streams: `concurrency`). It is flushed
//!   at `maxMessagesCount` or `maxAwaitDurationMs` after its first message (a lone message waits
//!   the whole window). Defaults 100 / 1 000 ms.
//! * **The request** (`pkg/runtime/pubsub/bulksubscribe_events.go`, `bulksubscription.go`):
//!   `Content-Type: application/json`, `{id, type: "com.dapr.event.sent.bulk", topic,
//!   pubsubname, metadata, entries: [{entryId, event, metadata, contentType}]}`; `event` is the
//!   CloudEvent as an object (or the payload in base64 with `rawPayload`). Kafka numbers the
//!   entries "0".."n-1", the default subscriber gives each a UUID. Routing rules and expiry
//!   apply per entry; entries are grouped by route, one POST per route.
//! * **The reply** (`pkg/runtime/subscription/postman/http/http.go` `DeliverBulk`): 2xx with
//!   `{"statuses":[{entryId, status}]}`, where exactly `SUCCESS` acknowledges, exactly `DROP`
//!   acknowledges and dead-letters the entry, anything else or a missing entry is a failure;
//!   an undecodable 2xx body fails every entry; 404 acknowledges every entry without
//!   dead-lettering; any other status fails every entry.
//! * **Failures** (`bulkresiliency.go`, `bulksubscription.go` `sendBulkToDeadLetter`): the
//!   inbound Resiliency policy retries only the failed entries; once it gives up, those go to
//!   the dead-letter topic one by one. Without one, the component decides: Kafka (with
//!   `consumeRetryEnabled`) delivers the whole batch again after `backOffDuration`, successful
//!   entries included; other components acknowledge.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::broker::{Group, Member, StoredMessage};
use crate::components::Component;
use crate::delivery::{
    APP_DOWN_POLL, DEAD_LETTER_RETRY, DELIVERY_TIMEOUT, component_redelivery, dead_letter,
    message_headers,
};
use crate::runtime::Shared;
use crate::subscriptions::SubscriptionJson;

/// How one subscription's batches are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkConfig {
    pub max_messages: usize,
    pub max_await: Duration,
    /// Kafka's own batching (a periodic ticker per partition) rather than the default bulk
    /// subscriber's (a window from the first message, at most as many as delivered at once).
    pub native: bool,
}

/// `bulkSubscribe` as the subscription declares it (`pkg/runtime/pubsub/subscriptions.go`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkSubscribeJson {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    max_messages_count: i64,
    #[serde(default)]
    max_await_duration_ms: i64,
}

impl BulkConfig {
    /// The batching of `subscription` on `component`, or `None` when it does not ask for bulk.
    pub fn of(subscription: &SubscriptionJson, component: Option<&Component>) -> Option<Self> {
        let declared: BulkSubscribeJson =
            serde_json::from_value(subscription.bulk_subscribe.clone()?).ok()?;
        if !declared.enabled {
            return None;
        }
        let native = component.is_some_and(|c| c.type_name == "pubsub.kafka");
        let (count, await_ms) = if native { (80, 10_000) } else { (100, 1_000) };
        let pick = |declared: i64, default: u64| {
            u64::try_from(declared)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        Some(Self {
            max_messages: usize::try_from(pick(declared.max_messages_count, count))
                .unwrap_or(count as usize),
            max_await: Duration::from_millis(pick(declared.max_await_duration_ms, await_ms)),
            native,
        })
    }
}

/// The partition loop of a bulk subscription: forms batches as the component would and
/// settles each before reading on. `workers` is how many messages the component hands over at
/// once (the default bulk subscriber's batches hold no more).
pub async fn run_partition(
    shared: Arc<Shared>,
    group: Arc<Group>,
    partition: usize,
    mut offset: u64,
    config: BulkConfig,
    workers: usize,
) {
    let cap = if config.native {
        config.max_messages
    } else {
        config.max_messages.min(workers)
    }
    .max(1);
    let mut changes = shared.broker.appends(&group.key, partition);
    let mut ticker = tokio::time::interval_at(Instant::now() + config.max_await, config.max_await);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch: Vec<Arc<StoredMessage>> = Vec::with_capacity(cap);
    // When the batch's first message was taken (the default subscriber's window starts then).
    let mut window_end = Instant::now();
    loop {
        changes.borrow_and_update();
        while batch.len() < cap {
            let Some(message) = shared.broker.message_at(&group.key, partition, offset) else {
                break;
            };
            if batch.is_empty() {
                window_end = Instant::now() + config.max_await;
            }
            batch.push(message);
            offset += 1;
        }
        let full = batch.len() >= cap;
        if !full {
            let window = tokio::time::sleep_until(window_end);
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() { return }
                    continue;
                }
                _ = ticker.tick(), if config.native => {}
                () = window, if !config.native && !batch.is_empty() => {}
                () = shared.cancel.cancelled() => return,
            }
            if batch.is_empty() {
                continue;
            }
        }
        tokio::select! {
            () = settle(&shared, &group, &batch, config.native) => {}
            () = shared.cancel.cancelled() => return,
        }
        if full && config.native {
            ticker.reset();
        }
        batch.clear();
        group.commit(partition, offset);
        shared.broker.trim(&group.key, partition);
    }
}

/// One entry of a batch: its id, its message and the route it goes to.
struct Entry {
    id: String,
    message: Arc<StoredMessage>,
    route: String,
}

/// What the app's answer meant for one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryOutcome {
    Success,
    Drop,
    Fail,
}

/// Delivers `messages` until the batch is done with: every entry acknowledged, dropped or
/// dead-lettered, or (Kafka, no dead-letter topic) the whole batch again after the component's
/// back-off until it is.
async fn settle(shared: &Shared, group: &Group, messages: &[Arc<StoredMessage>], native: bool) {
    let ids: Vec<String> = (0..messages.len())
        .map(|i| {
            if native {
                i.to_string()
            } else {
                uuid::Uuid::new_v4().to_string()
            }
        })
        .collect();
    'batch: loop {
        let Some(member) = group
            .rotation()
            .into_iter()
            .find(|m| shared.serving(&m.instance))
        else {
            if group.rotation().is_empty() {
                return;
            }
            tokio::time::sleep(APP_DOWN_POLL).await;
            continue;
        };
        // Per entry: expired or unrouted entries are dropped (and dead-lettered) up front.
        let mut pending = Vec::with_capacity(messages.len());
        for (id, message) in ids.iter().zip(messages) {
            let route = (!message.head.is_expired())
                .then(|| member.subscription.route_for_message(message))
                .flatten();
            match route {
                Some(route) => pending.push(Entry {
                    id: id.clone(),
                    message: message.clone(),
                    route,
                }),
                None => {
                    tracing::warn!(topic = %message.topic, app_id = %member.app_id, "bulk entry expired or matched no route; dropped");
                    while !dead_letter(shared, &member, message) {
                        tokio::time::sleep(DEAD_LETTER_RETRY).await;
                    }
                }
            }
        }
        let policy = shared.inbound_retry(&member.app_id, &group.key.pubsub);
        let mut failures = 0u32;
        while !pending.is_empty() {
            let allowed = shared.breaker_allow(&member.app_id, &member.instance, &group.key.pubsub);
            let outcomes = match &allowed {
                Err(refused) => {
                    tracing::warn!(app_id = %member.app_id, %refused, "bulk delivery refused by the circuit breaker");
                    vec![EntryOutcome::Fail; pending.len()]
                }
                Ok(()) => {
                    let outcomes = post_all(shared, &member, &pending).await;
                    shared.breaker_record(
                        &member.instance,
                        &group.key.pubsub,
                        outcomes.iter().all(|o| *o != EntryOutcome::Fail),
                    );
                    outcomes
                }
            };
            let mut failed = Vec::new();
            for (entry, outcome) in pending.into_iter().zip(outcomes) {
                match outcome {
                    EntryOutcome::Success => {}
                    EntryOutcome::Drop => {
                        tracing::warn!(app_id = %member.app_id, topic = %entry.message.topic, "app dropped a bulk entry");
                        while !dead_letter(shared, &member, &entry.message) {
                            tokio::time::sleep(DEAD_LETTER_RETRY).await;
                        }
                    }
                    EntryOutcome::Fail => failed.push(entry),
                }
            }
            pending = failed;
            if pending.is_empty() {
                return;
            }
            failures += 1;
            // The breaker's refusal is permanent: no retries.
            if allowed.is_err() || policy.exhausted(failures) {
                break;
            }
            tracing::info!(app_id = %member.app_id, entries = pending.len(), attempt = failures, "bulk entries failed; will retry them");
            tokio::time::sleep(policy.backoff(failures)).await;
        }
        if pending.is_empty() {
            // Every entry was dropped up front (expired, or no route matched).
            return;
        }
        // Given up on `pending`: the dead-letter topic takes them one by one; else the
        // component decides.
        if member.subscription.dead_letter_topic.is_some() {
            for entry in &pending {
                while !dead_letter(shared, &member, &entry.message) {
                    tokio::time::sleep(DEAD_LETTER_RETRY).await;
                }
            }
            return;
        }
        match component_redelivery(shared.component(&group.key.pubsub)) {
            Some(after) => {
                tracing::warn!(app_id = %member.app_id, topic = %group.key.topic, entries = pending.len(), ?after, "bulk entries failed for good: the component delivers the whole batch again");
                tokio::time::sleep(after).await;
                continue 'batch;
            }
            None => {
                tracing::warn!(app_id = %member.app_id, topic = %group.key.topic, entries = pending.len(), "bulk entries failed for good and there is no dead-letter topic: acknowledged and lost");
                return;
            }
        }
    }
}

/// The body of a bulk delivery (`bulksubscribe_events.go`).
#[derive(Serialize)]
struct BulkRequest<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    topic: &'a str,
    pubsubname: &'a str,
    metadata: BulkMetadata<'a>,
    entries: Vec<BulkEntry<'a>>,
}

#[derive(Serialize)]
struct BulkMetadata<'a> {
    #[serde(rename = "pubsubName")]
    pubsub_name: &'a str,
}

#[derive(Serialize)]
struct BulkEntry<'a> {
    #[serde(rename = "entryId")]
    entry_id: &'a str,
    event: BulkEvent<'a>,
    metadata: BTreeMap<String, String>,
    #[serde(rename = "contentType")]
    content_type: &'static str,
}

/// An entry's `event`: the CloudEvent as an object, written as the publishing sidecar stored
/// it (its bytes are JSON: checked, not parsed into a tree and written again), or, for a raw
/// payload or stored bytes that are not JSON, a string.
#[derive(Serialize)]
#[serde(untagged)]
enum BulkEvent<'a> {
    Json(&'a RawValue),
    Text(String),
}

impl<'a> BulkEvent<'a> {
    /// The event of stored `bytes`: as they are when they are JSON, else their text (as
    /// [`StoredMessage::envelope`] reads them).
    fn of(bytes: &'a [u8]) -> Self {
        match serde_json::from_slice::<&RawValue>(bytes) {
            Ok(json) => Self::Json(json),
            Err(_) => Self::Text(String::from_utf8_lossy(bytes).into_owned()),
        }
    }
}

/// POSTs `entries` to `member`, one request per route, and returns each entry's outcome in
/// order.
async fn post_all(shared: &Shared, member: &Member, entries: &[Entry]) -> Vec<EntryOutcome> {
    let mut by_route: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        by_route.entry(&entry.route).or_default().push(entry);
    }
    let mut outcomes: HashMap<&str, EntryOutcome> = HashMap::new();
    for (route, entries) in by_route {
        let copies = shared.duplicates.load(Ordering::Acquire).max(1);
        let posts = (0..copies).map(|_| post(shared, member, route, &entries));
        let mut results = futures::future::join_all(posts).await;
        let result = results.swap_remove(0);
        for entry in &entries {
            outcomes.insert(
                &entry.id,
                result.get(&entry.id).copied().unwrap_or(EntryOutcome::Fail),
            );
        }
    }
    entries
        .iter()
        .map(|e| {
            outcomes
                .get(e.id.as_str())
                .copied()
                .unwrap_or(EntryOutcome::Fail)
        })
        .collect()
}

/// One bulk POST; the outcome of every entry the reply settled (a missing one failed).
async fn post(
    shared: &Shared,
    member: &Member,
    route: &str,
    entries: &[&Entry],
) -> HashMap<String, EntryOutcome> {
    let Some(first) = entries.first() else {
        return HashMap::new();
    };
    let pubsub = &first.message.pubsub;
    let raw = member.subscription.raw_payload();
    let mut traceparent = None;
    let items: Vec<BulkEntry<'_>> = entries
        .iter()
        .map(|entry| {
            let message = &entry.message;
            let (event, content_type) = if raw {
                (
                    BulkEvent::Text(
                        base64::engine::general_purpose::STANDARD.encode(&message.bytes),
                    ),
                    "application/octet-stream",
                )
            } else {
                if let Some(value) = &message.head.traceparent {
                    traceparent = Some(value.as_str());
                }
                (
                    BulkEvent::of(&message.bytes),
                    "application/cloudevents+json",
                )
            };
            BulkEntry {
                entry_id: &entry.id,
                event,
                metadata: message_headers(message),
                content_type,
            }
        })
        .collect();
    let body = BulkRequest {
        id: uuid::Uuid::new_v4().to_string(),
        kind: "com.dapr.event.sent.bulk",
        topic: &first.message.topic,
        pubsubname: pubsub,
        metadata: BulkMetadata {
            pubsub_name: pubsub,
        },
        entries: items,
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(pubsub) {
        headers.insert("pubsubName", value);
    }
    if let Some(value) = traceparent.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("traceparent", value);
    }
    if let Some(value) = member
        .api_token
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert("dapr-api-token", value);
    }
    let url = format!(
        "http://{}{route}",
        std::net::SocketAddr::new(member.app_address, member.app_port)
    );
    let timeout = shared
        .inbound_timeout(&member.app_id, pubsub)
        .unwrap_or(DELIVERY_TIMEOUT);
    let every = |outcome| {
        entries
            .iter()
            .map(|e| (e.id.clone(), outcome))
            .collect::<HashMap<_, _>>()
    };
    let response = match shared
        .http
        .post(url)
        .headers(headers)
        .timeout(timeout)
        .json(&body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => {
            tracing::info!(app_id = %member.app_id, %route, %error, "bulk delivery failed");
            return every(EntryOutcome::Fail);
        }
    };
    let status = response.status().as_u16();
    let Ok(reply) = response.bytes().await else {
        return every(EntryOutcome::Fail);
    };
    interpret_bulk_reply(status, &reply, entries)
}

/// `DeliverBulk`'s reading of the app's answer.
fn interpret_bulk_reply(
    status: u16,
    body: &[u8],
    entries: &[&Entry],
) -> HashMap<String, EntryOutcome> {
    #[derive(Deserialize)]
    struct Reply {
        #[serde(default)]
        statuses: Vec<EntryStatus>,
    }
    #[derive(Deserialize)]
    struct EntryStatus {
        #[serde(default, rename = "entryId")]
        entry_id: String,
        #[serde(default)]
        status: String,
    }
    let every = |outcome| {
        entries
            .iter()
            .map(|e| (e.id.clone(), outcome))
            .collect::<HashMap<_, _>>()
    };
    if status == 404 {
        return every(EntryOutcome::Success);
    }
    if !(200..300).contains(&status) {
        return every(EntryOutcome::Fail);
    }
    let Ok(reply) = serde_json::from_slice::<Reply>(body) else {
        return every(EntryOutcome::Fail);
    };
    let mut outcomes = every(EntryOutcome::Fail);
    for entry in reply.statuses {
        let outcome = match entry.status.as_str() {
            "SUCCESS" => EntryOutcome::Success,
            "DROP" => EntryOutcome::Drop,
            _ => EntryOutcome::Fail,
        };
        // An id the request did not carry is ignored.
        if let Some(slot) = outcomes.get_mut(&entry.entry_id) {
            *slot = outcome;
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::Value;

    use super::*;

    #[test]
    fn an_entrys_event_is_the_stored_json_as_it_is_or_the_text_of_bytes_that_are_not_json() {
        let stored = br#"{"specversion":"1.0","data":{"n":1,"text":"caf\u00e9"}}"#;
        let written = serde_json::to_string(&BulkEvent::of(stored)).unwrap();
        assert_eq!(
            written.as_bytes(),
            stored,
            "the bytes as stored, not re-encoded"
        );
        let written = serde_json::to_value(BulkEvent::of(b"not json {")).unwrap();
        assert_eq!(written, Value::String("not json {".into()));
        // What the apps read is what a parse of the stored bytes gives.
        let entry: Value =
            serde_json::from_str(&serde_json::to_string(&BulkEvent::of(stored)).unwrap()).unwrap();
        assert_eq!(entry, serde_json::from_slice::<Value>(stored).unwrap());
    }
}
