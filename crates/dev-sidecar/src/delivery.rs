//! Delivery of broker messages to subscribed apps: one sequential loop per partition and
//! consumer group (as Dapr's Kafka consumer does), and the reply table of docs/dapr-behaviour.md
//! §2.4.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::broker::{Group, Member, StoredMessage};
use crate::bulk::BulkConfig;
use crate::components::Component;
use crate::resiliency::{Backoff, RetryPolicy, parse_go_duration};
use crate::runtime::Shared;

/// A fixed inbound retry policy for every delivery, in place of the resources' Resiliency
/// (tests that need short, predictable retries). Backoff grows ×1.5 from `initial_backoff`.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Retries after the first attempt; then the dead-letter topic (or the component's own
    /// redelivery, see [`component_redelivery`]).
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl DeliveryPolicy {
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff::Exponential {
                initial: self.initial_backoff,
                max_interval: self.max_backoff,
            },
            max_retries: Some(self.max_retries),
        }
    }
}

/// What the component does with a message whose delivery failed for good and that has no
/// dead-letter topic (docs/dapr-behaviour.md §2.5 step 3): Kafka (`consumeRetryEnabled`, true by
/// default for pub/sub) redelivers it after `backOffDuration` (5 s) for ever, blocking its
/// partition; every other component acknowledges it (Redis Streams XACKs since components-contrib
/// 1.17).
pub(crate) fn component_redelivery(component: Option<&Component>) -> Option<Duration> {
    let component = component.filter(|c| c.type_name == "pubsub.kafka")?;
    let enabled = component
        .metadata
        .get("consumeRetryEnabled")
        .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    if !enabled {
        return None;
    }
    if component
        .metadata
        .get("backOffPolicy")
        .is_some_and(|p| p != "constant")
    {
        tracing::warn!(component = %component.name, "only the constant backOffPolicy is modelled; using backOffDuration");
    }
    Some(
        component
            .metadata
            .get("backOffDuration")
            .and_then(|d| parse_go_duration(d).ok())
            .unwrap_or(Duration::from_secs(5)),
    )
}

/// Without a Resiliency timeout on the inbound target, a hung handler still must not block its
/// partition forever; a timeout is a retriable failure.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// While no member's sidecar delivers (stopped, or health checks say the app is unhealthy) the
/// message waits without using its retry budget.
pub(crate) const APP_DOWN_POLL: Duration = Duration::from_millis(150);

enum Outcome {
    Success,
    /// The app answered, failed, timed out or could not be reached (connection refused: an app
    /// that is down uses up retries, as with daprd, unless health checks paused it first).
    Retry(String),
    Drop(String),
    /// The inbound circuit breaker refused the attempt: a permanent failure, not retried.
    Refused(String),
    /// No member can be delivered to right now.
    AppDown,
}

/// Starts the partition loops of a newly created consumer group.
pub fn start_group(shared: &Arc<Shared>, group: Arc<Group>, offsets: Vec<u64>) {
    let component = shared.component(&group.key.pubsub);
    let workers = workers(component);
    // The group's first member decides: the members of a group are replicas of one app.
    let bulk = group
        .rotation()
        .first()
        .and_then(|member| BulkConfig::of(&member.subscription, component));
    for (partition, offset) in offsets.into_iter().enumerate() {
        let shared2 = shared.clone();
        let group = group.clone();
        if let Some(config) = bulk {
            shared.spawn(async move {
                crate::bulk::run_partition(shared2, group, partition, offset, config, workers)
                    .await;
            });
        } else if workers > 1 {
            shared.spawn(async move {
                run_partition_concurrently(shared2, group, partition, offset, workers).await;
            });
        } else {
            shared.spawn(async move { run_partition(shared2, group, partition, offset).await });
        }
    }
}

/// How many messages of one partition are in delivery at once (docs/dapr-behaviour.md,
/// "Delivery"): Kafka hands a partition's messages over one at a time, in order; Redis Streams
/// run `concurrency` workers (default 10) over one queue, so their messages overtake each other.
fn workers(component: Option<&Component>) -> usize {
    match component {
        Some(c) if c.type_name == "pubsub.redis" => c
            .metadata
            .get("concurrency")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(10),
        _ => 1,
    }
}

/// [`run_partition`] with up to `workers` deliveries at once. The group's offset advances past
/// a message only when every message before it is done too, so nothing is forgotten early.
async fn run_partition_concurrently(
    shared: Arc<Shared>,
    group: Arc<Group>,
    partition: usize,
    offset: u64,
    workers: usize,
) {
    let mut changes = shared.broker.appends(&group.key, partition);
    let permits = Arc::new(tokio::sync::Semaphore::new(workers));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let mut finished = std::collections::BTreeSet::new();
    let (mut committed, mut next) = (offset, offset);
    loop {
        while let Ok(offset) = done_rx.try_recv() {
            finished.insert(offset);
        }
        let before = committed;
        while finished.remove(&committed) {
            committed += 1;
        }
        if committed != before {
            group.commit(partition, committed);
            shared.broker.trim(&group.key, partition);
        }
        changes.borrow_and_update();
        if let Some(message) = shared.broker.message_at(&group.key, partition, next) {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = shared.cancel.cancelled() => return,
            };
            let (shared2, group2, done) = (shared.clone(), group.clone(), done_tx.clone());
            let at = next;
            // Not tracked by `Shared::spawn` (one task per message would pile up there): each
            // ends with its delivery or at shutdown's cancellation.
            tokio::spawn(async move {
                tokio::select! {
                    () = deliver(&shared2, &group2, &message) => {}
                    () = shared2.cancel.cancelled() => return,
                }
                drop(permit);
                let _ = done.send(at);
            });
            next += 1;
            continue;
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            Some(offset) = done_rx.recv() => { finished.insert(offset); }
            () = shared.cancel.cancelled() => return,
        }
    }
}

/// Acknowledged messages are forgotten every this many deliveries, and whenever the loop has
/// caught up, so a busy partition does not take the broker lock for every message.
const TRIM_EVERY: u64 = 256;
/// How long a message whose dead-letter publish failed waits before it is tried again.
pub(crate) const DEAD_LETTER_RETRY: Duration = Duration::from_secs(5);

async fn run_partition(shared: Arc<Shared>, group: Arc<Group>, partition: usize, mut offset: u64) {
    let mut changes = shared.broker.appends(&group.key, partition);
    loop {
        changes.borrow_and_update();
        if let Some(message) = shared.broker.message_at(&group.key, partition, offset) {
            tokio::select! {
                () = deliver(&shared, &group, &message) => offset += 1,
                () = shared.cancel.cancelled() => return,
            }
            group.commit(partition, offset);
            if offset.is_multiple_of(TRIM_EVERY) {
                shared.broker.trim(&group.key, partition);
            }
            continue;
        }
        shared.broker.trim(&group.key, partition);
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = shared.cancel.cancelled() => return,
        }
    }
}

async fn deliver(shared: &Shared, group: &Group, message: &StoredMessage) {
    let mut failures = 0u32;
    'attempts: loop {
        let members = group.rotation();
        let Some(first) = members.first().cloned() else {
            return;
        };
        if message.head.is_expired() {
            tracing::warn!(topic = %message.topic, group = %group.key.group, "message expired before delivery");
            if dead_letter(shared, &first, message) {
                return;
            }
            tokio::time::sleep(DEAD_LETTER_RETRY).await;
            continue;
        }
        let mut outcome = Outcome::AppDown;
        let mut answered_by = first;
        for member in members {
            if !shared.serving(&member.instance) {
                continue;
            }
            let Some(route) = member.subscription.route_for_message(message) else {
                tracing::debug!(topic = %message.topic, app_id = %member.app_id, "no routing rule matched; message skipped");
                if dead_letter(shared, &member, message) {
                    return;
                }
                tokio::time::sleep(DEAD_LETTER_RETRY).await;
                continue 'attempts;
            };
            if let Err(refused) =
                shared.breaker_allow(&member.app_id, &member.instance, &message.pubsub)
            {
                outcome = Outcome::Refused(refused.to_string());
                answered_by = member;
                break;
            }
            outcome = attempt(shared, &member, &route, message).await;
            shared.breaker_record(
                &member.instance,
                &message.pubsub,
                matches!(outcome, Outcome::Success | Outcome::Drop(_)),
            );
            answered_by = member;
            break;
        }
        match outcome {
            Outcome::Success => return,
            Outcome::Drop(reason) => {
                tracing::warn!(app_id = %answered_by.app_id, instance = %answered_by.instance, topic = %message.topic, %reason, "app dropped the message");
                if dead_letter(shared, &answered_by, message) {
                    return;
                }
                tokio::time::sleep(DEAD_LETTER_RETRY).await;
            }
            Outcome::Refused(reason) => {
                // daprd: the breaker's error is permanent, so the retries stop and the message
                // goes where a failed delivery goes, without the app having seen it.
                tracing::warn!(app_id = %answered_by.app_id, instance = %answered_by.instance, topic = %message.topic, %reason, "delivery refused by the circuit breaker");
                if failed_for_good(shared, &answered_by, message).await {
                    return;
                }
            }
            Outcome::Retry(reason) => {
                failures += 1;
                let policy = shared.inbound_retry(&answered_by.app_id, &message.pubsub);
                if !policy.exhausted(failures) {
                    tracing::info!(app_id = %answered_by.app_id, topic = %message.topic, %reason, attempt = failures, "delivery failed; will retry");
                    tokio::time::sleep(policy.backoff(failures)).await;
                    continue;
                }
                tracing::warn!(app_id = %answered_by.app_id, instance = %answered_by.instance, topic = %message.topic, %reason, attempts = failures, "retries exhausted");
                if failed_for_good(shared, &answered_by, message).await {
                    return;
                }
                failures = 0;
            }
            Outcome::AppDown => tokio::time::sleep(APP_DOWN_POLL).await,
        }
    }
}

/// Where a delivery that failed for good goes (docs/dapr-behaviour.md §2.5): its dead-letter
/// topic, else the component's own redelivery (Kafka), else nowhere (acknowledged). True when
/// the message is done with; false after waiting to deliver it again.
async fn failed_for_good(shared: &Shared, member: &Member, message: &StoredMessage) -> bool {
    if member.subscription.dead_letter_topic.is_some() {
        if dead_letter(shared, member, message) {
            return true;
        }
        tokio::time::sleep(DEAD_LETTER_RETRY).await;
        return false;
    }
    match component_redelivery(shared.component(&message.pubsub)) {
        Some(after) => {
            tracing::warn!(app_id = %member.app_id, topic = %message.topic, ?after, "no dead-letter topic: the component redelivers the message");
            tokio::time::sleep(after).await;
            false
        }
        None => {
            tracing::warn!(app_id = %member.app_id, topic = %message.topic, "no dead-letter topic: the message is acknowledged and lost");
            true
        }
    }
}

/// Dapr re-publishes the original bytes and metadata on the same component, so the DLQ topic
/// is an ordinary topic that anything may subscribe to. Without one the message is acked.
/// Returns false when the re-publish failed (as a publish would: a Kafka topic that does not
/// exist on the broker, a full backlog): the message stays unacknowledged and is tried again,
/// as daprd leaves the offset uncommitted when the dead-letter publish errs.
pub(crate) fn dead_letter(shared: &Shared, member: &Member, message: &StoredMessage) -> bool {
    match member.subscription.dead_letter_topic.as_deref() {
        Some(dlq) if !dlq.is_empty() => {
            if let Err(error) = shared.producible(&message.pubsub, dlq) {
                tracing::error!(app_id = %member.app_id, pubsub = %message.pubsub, topic = %message.topic, dead_letter_topic = %dlq, %error, "the dead-letter publish failed; the message stays unacknowledged");
                return false;
            }
            tracing::warn!(app_id = %member.app_id, pubsub = %message.pubsub, topic = %message.topic, dead_letter_topic = %dlq, "message sent to the dead-letter topic");
            shared.broker.append(
                &message.pubsub,
                dlq,
                message.metadata.clone(),
                message.bytes.clone(),
            );
            true
        }
        _ => {
            tracing::warn!(app_id = %member.app_id, topic = %message.topic, "message dropped (no dead-letter topic)");
            true
        }
    }
}

async fn attempt(
    shared: &Shared,
    member: &Member,
    route: &str,
    message: &StoredMessage,
) -> Outcome {
    let copies = shared.duplicates.load(Ordering::Acquire);
    if copies <= 1 {
        return attempt_once(shared, member, route, message).await;
    }
    let attempts = (0..copies).map(|_| attempt_once(shared, member, route, message));
    let mut outcomes = futures::future::join_all(attempts).await;
    outcomes.swap_remove(0)
}

async fn attempt_once(
    shared: &Shared,
    member: &Member,
    route: &str,
    message: &StoredMessage,
) -> Outcome {
    let url = format!(
        "http://{}{route}",
        std::net::SocketAddr::new(member.app_address, member.app_port)
    );
    let body = if member.subscription.raw_payload() {
        raw_envelope(message)
    } else {
        message.bytes.clone()
    };
    let timeout = shared
        .inbound_timeout(&member.app_id, &message.pubsub)
        .unwrap_or(DELIVERY_TIMEOUT);
    let request = shared
        .http
        .post(url)
        .headers(delivery_headers(member, message))
        .timeout(timeout)
        .body(body);
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_connect() => return Outcome::Retry(format!("app unreachable: {e}")),
        Err(e) if e.is_timeout() => {
            return Outcome::Retry(format!("no answer within the timeout of {timeout:?}"));
        }
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    interpret_reply(status.as_u16(), &body)
}

/// Contract 2.4, mirroring Dapr's HTTP postman: only the first JSON value is decoded, and an
/// undecodable body counts as success.
fn interpret_reply(status: u16, body: &[u8]) -> Outcome {
    #[derive(Deserialize)]
    struct AppResponse {
        #[serde(default)]
        status: String,
    }
    if (200..300).contains(&status) {
        let mut values = serde_json::Deserializer::from_slice(body).into_iter::<AppResponse>();
        return match values.next() {
            Some(Ok(reply)) => match reply.status.as_str() {
                "" | "SUCCESS" => Outcome::Success,
                "RETRY" => Outcome::Retry("app replied RETRY".into()),
                "DROP" => Outcome::Drop("app replied DROP".into()),
                other => Outcome::Retry(format!("unknown status {other:?}")),
            },
            _ => Outcome::Success,
        };
    }
    if status == 404 {
        return Outcome::Drop("app replied 404".into());
    }
    Outcome::Retry(format!("app replied HTTP {status}"))
}

/// What a delivery says about its message besides the body, as daprd passes a Kafka record's
/// headers and position: the publisher's `metadata.*`, `pubsubName`, `__topic`, `__partition`,
/// `__offset`, `__timestamp` and `__key`. Headers of a single delivery, `metadata` of a bulk
/// entry.
pub(crate) fn message_headers(message: &StoredMessage) -> BTreeMap<String, String> {
    let mut headers = message.metadata.clone();
    headers.insert("pubsubName".into(), message.pubsub.clone());
    headers.insert("__topic".into(), message.topic.clone());
    headers.insert("__partition".into(), message.partition.to_string());
    headers.insert("__offset".into(), message.offset.to_string());
    headers.insert(
        "__timestamp".into(),
        message.timestamp.timestamp_millis().to_string(),
    );
    if let Some(key) = &message.key {
        headers.insert("__key".into(), key.clone());
    }
    headers
}

fn delivery_headers(member: &Member, message: &StoredMessage) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    };
    for (key, value) in &message_headers(message) {
        put(key, value);
    }
    put("content-type", "application/cloudevents+json");
    let head = &message.head;
    for (field, value) in [
        ("traceparent", &head.traceparent),
        ("tracestate", &head.tracestate),
    ] {
        if let Some(value) = value.as_deref()
            && !value.is_empty()
        {
            put(field, value);
        }
    }
    if let Some(token) = &member.api_token {
        put("dapr-api-token", token);
    }
    headers
}

/// A raw subscription gets the bytes wrapped in a fresh envelope, with a new id per attempt,
/// exactly as Dapr does (so that id is useless for deduplication).
fn raw_envelope(message: &StoredMessage) -> bytes::Bytes {
    let event = serde_json::json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "specversion": "1.0",
        "datacontenttype": "application/octet-stream",
        "source": "Dapr",
        "type": "com.dapr.event.sent",
        "topic": message.topic,
        "pubsubname": message.pubsub,
        "data_base64": base64::engine::general_purpose::STANDARD.encode(&message.bytes),
    });
    serde_json::to_vec(&event).unwrap_or_default().into()
}
