//! The in-memory broker every sidecar of the process shares, modelled on Kafka: each topic is
//! an append-only log split into partitions, and each consumer group keeps its own offset per
//! partition. Nothing is persisted; a restart of the dev sidecar loses every message.
//!
//! Memory stays bounded, as a broker's retention bounds it: a partition keeps every message a
//! consumer group of its log has not acknowledged yet (a consumer that is down keeps
//! everything after its offset) plus the newest [`RETAINED_ACKNOWLEDGED`] others, so a group
//! that joins later with `initialOffset: oldest` still finds recent history; a log nobody
//! consumes keeps its newest [`UNCONSUMED_LIMIT`] messages per partition; the inspection list
//! of `/dev/messages` keeps the newest [`INSPECTION_LIMIT`]; and past [`BACKLOG_LIMIT`]
//! messages a consumer has not taken, publishes to that topic are refused until it catches up. Offsets never change: only
//! a log's start moves.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::subscriptions::SubscriptionJson;

/// Partitions per topic: enough to show that unkeyed messages are not ordered while keyed ones
/// are, few enough to keep the per-partition delivery loops cheap.
pub const PARTITIONS: usize = 4;
/// Published messages kept for `/dev/messages` and [`Broker::published`].
pub const INSPECTION_LIMIT: usize = 2_000;
/// Acknowledged messages a partition keeps for consumer groups that join later.
pub const RETAINED_ACKNOWLEDGED: u64 = 256;
/// Messages a partition keeps while no consumer group reads its log.
pub const UNCONSUMED_LIMIT: usize = 1_000;
/// Messages of one topic's log that its slowest consumer group has not acknowledged yet before
/// a publish to that topic is refused (about 10 MB of envelopes). A consumer far behind (or
/// down) then holds back the publishers of its topics only, whose events wait in their outbox,
/// instead of the process growing without bound. [`crate::DevSidecar::set_backlog_limit`]
/// changes it.
pub const BACKLOG_LIMIT: usize = 5_000;

/// A message accepted by a publish (or re-published to a dead-letter topic), for inspection.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedMessage {
    pub pubsub: String,
    pub topic: String,
    pub partition_key: Option<String>,
    pub envelope: Value,
    pub published_at: DateTime<Utc>,
}

/// One record of a partition log.
#[derive(Debug)]
pub struct StoredMessage {
    pub pubsub: String,
    pub topic: String,
    pub partition: usize,
    pub offset: u64,
    pub key: Option<String>,
    /// The publisher's `metadata.*` values, delivered as headers like Kafka record headers.
    pub metadata: BTreeMap<String, String>,
    /// The envelope bytes exactly as the publishing sidecar serialized them. Only the bytes are
    /// kept (a parsed JSON tree costs several times their size); [`StoredMessage::envelope`]
    /// parses them when a delivery needs more than [`StoredMessage::head`].
    pub bytes: Bytes,
    /// The envelope's fields every delivery reads, read once when the message was appended.
    pub head: EnvelopeHead,
    pub timestamp: DateTime<Utc>,
}

impl StoredMessage {
    /// The envelope as JSON (a raw payload that is not JSON: its text).
    pub fn envelope(&self) -> Value {
        envelope_of(&self.bytes)
    }
}

/// The string fields of an envelope that every delivery of it reads: whether it expired, and
/// the trace context it carries on. A field that is missing or not a string is `None`, as it
/// is when read from [`StoredMessage::envelope`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvelopeHead {
    pub expiration: Option<String>,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl EnvelopeHead {
    /// Read from `bytes` without building the JSON tree of the whole envelope (whose `data` is
    /// most of it), which every delivery of every message did before: 14 % of the dev
    /// sidecar's samples under creates. Bytes that are not a plain JSON object (a raw payload, a repeated key)
    /// are read through the tree, so the answer is always the tree's.
    pub fn of(bytes: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Fields<'a> {
            #[serde(borrow, default)]
            expiration: Option<&'a RawValue>,
            #[serde(borrow, default)]
            traceparent: Option<&'a RawValue>,
            #[serde(borrow, default)]
            tracestate: Option<&'a RawValue>,
        }
        let text =
            |raw: Option<&RawValue>| raw.and_then(|raw| serde_json::from_str(raw.get()).ok());
        match serde_json::from_slice::<Fields<'_>>(bytes) {
            Ok(fields) => Self {
                expiration: text(fields.expiration),
                traceparent: text(fields.traceparent),
                tracestate: text(fields.tracestate),
            },
            Err(_) => Self::of_tree(&envelope_of(bytes)),
        }
    }

    /// The head of an envelope parsed into a tree.
    fn of_tree(envelope: &Value) -> Self {
        let text = |field: &str| {
            envelope
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Self {
            expiration: text("expiration"),
            traceparent: text("traceparent"),
            tracestate: text("tracestate"),
        }
    }

    /// Whether the envelope's `expiration` (RFC 3339) has passed.
    pub fn is_expired(&self) -> bool {
        self.expiration
            .as_deref()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .is_some_and(|expiration| expiration < Utc::now())
    }
}

fn envelope_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// An entry of the inspection list: bytes, parsed when inspected.
#[derive(Debug, Clone)]
struct Inspected {
    pubsub: String,
    topic: String,
    partition_key: Option<String>,
    bytes: Bytes,
    published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub pubsub: String,
    pub topic: String,
    pub group: String,
}

/// One app instance subscribed through a consumer group.
#[derive(Debug)]
pub struct Member {
    pub app_id: String,
    pub instance: String,
    pub app_port: u16,
    /// Where the app listens (daprd's app channel address).
    pub app_address: std::net::IpAddr,
    pub api_token: Option<String>,
    pub subscription: SubscriptionJson,
}

/// Competing consumers: each message of the group's topic goes to one of its members.
#[derive(Debug)]
pub struct Group {
    pub key: GroupKey,
    members: Mutex<Vec<Arc<Member>>>,
    next: AtomicUsize,
    /// Per partition, the offset of the next message to deliver: everything before it is
    /// acknowledged (delivered, dropped or dead-lettered).
    committed: Vec<AtomicU64>,
}

impl Group {
    /// Records that every message of `partition` before `offset` is done with.
    pub fn commit(&self, partition: usize, offset: u64) {
        if let Some(committed) = self.committed.get(partition) {
            committed.store(offset, Ordering::Release);
        }
    }

    /// All members, starting with the next one in round-robin order, so that when one is down
    /// the delivery can fall through to the others.
    pub fn rotation(&self) -> Vec<Arc<Member>> {
        let members = lock(&self.members).clone();
        if members.is_empty() {
            return members;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % members.len();
        members[start..]
            .iter()
            .chain(members[..start].iter())
            .cloned()
            .collect()
    }
}

/// The retained part of one partition: offsets `start..start + messages.len()`.
#[derive(Default)]
struct Partition {
    start: u64,
    messages: VecDeque<Arc<StoredMessage>>,
    /// Bumped on every append to this partition, so that its idle delivery loops (one per
    /// consumer group reading the log) wake without polling, and no other loop does.
    appended: watch::Sender<u64>,
}

impl Partition {
    fn end(&self) -> u64 {
        self.start + self.messages.len() as u64
    }

    fn get(&self, offset: u64) -> Option<&Arc<StoredMessage>> {
        let index = offset.checked_sub(self.start)?;
        self.messages.get(usize::try_from(index).ok()?)
    }

    /// Forgets the messages before `offset`.
    fn trim_to(&mut self, offset: u64) {
        while self.start < offset && self.messages.pop_front().is_some() {
            self.start += 1;
        }
    }
}

#[derive(Default)]
struct TopicLog {
    partitions: Vec<Partition>,
    next_unkeyed: usize,
}

impl TopicLog {
    /// The log of `log_key` in `topics`, with its partitions.
    fn of<'a>(
        topics: &'a mut HashMap<(String, String), TopicLog>,
        log_key: &(String, String),
    ) -> &'a mut TopicLog {
        let log = topics.entry(log_key.clone()).or_default();
        if log.partitions.is_empty() {
            log.partitions = (0..partitions_of(log_key))
                .map(|_| Partition::default())
                .collect();
        }
        log
    }
}

#[derive(Default)]
struct Inner {
    topics: HashMap<(String, String), TopicLog>,
    published: VecDeque<Inspected>,
    groups: HashMap<GroupKey, Arc<Group>>,
}

pub struct Broker {
    inner: Mutex<Inner>,
    /// Pub/sub component name → the backend it talks to. Two components on the same brokers
    /// (e.g. `pubsub` and the websocket-only `pubsub-broadcast`) share topics, as they do on a
    /// real Kafka or Redis: a message published through one is consumed through the other.
    backends: HashMap<String, String>,
}

impl Broker {
    pub fn new(components: &[crate::components::Component]) -> Self {
        let backends = components
            .iter()
            .filter(|c| c.kind == crate::components::ComponentKind::PubSub)
            .map(|c| {
                let address = ["brokers", "redisHost", "natsURL", "host"]
                    .iter()
                    .find_map(|field| c.metadata.get(*field))
                    .map(|address| format!("{}|{address}", c.type_name))
                    .unwrap_or_else(|| format!("{}|component|{}", c.type_name, c.name));
                (c.name.clone(), address)
            })
            .collect();
        Self {
            inner: Mutex::new(Inner::default()),
            backends,
        }
    }

    fn log_key(&self, pubsub: &str, topic: &str) -> (String, String) {
        let backend = self
            .backends
            .get(pubsub)
            .cloned()
            .unwrap_or_else(|| format!("component|{pubsub}"));
        (backend, topic.to_owned())
    }
}

/// Kafka topics have [`PARTITIONS`] partitions; a Redis stream is one log.
fn partitions_of(log_key: &(String, String)) -> usize {
    if log_key.0.starts_with("pubsub.redis|") {
        1
    } else {
        PARTITIONS
    }
}

/// A poisoned lock only means another task panicked mid-update of in-memory bookkeeping; the
/// data is still usable for a development tool, so keep going rather than cascade the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Broker {
    pub fn append(
        &self,
        pubsub: &str,
        topic: &str,
        metadata: BTreeMap<String, String>,
        bytes: Bytes,
    ) -> Arc<StoredMessage> {
        let key = metadata
            .get("partitionKey")
            .or_else(|| metadata.get("__key"))
            .cloned();
        let pinned = metadata
            .get("partitionNumber")
            .and_then(|n| n.parse::<usize>().ok());
        let now = Utc::now();
        let head = EnvelopeHead::of(&bytes);
        let log_key = self.log_key(pubsub, topic);
        let mut guard = lock(&self.inner);
        // One `&mut Inner`, so the log and the group list can be borrowed side by side.
        let inner = &mut *guard;
        let log = TopicLog::of(&mut inner.topics, &log_key);
        let count = log.partitions.len();
        let partition = match (pinned, &key) {
            (Some(n), _) => n % count,
            (None, Some(key)) => partition_for_key(key) % count,
            (None, None) => {
                log.next_unkeyed = (log.next_unkeyed + 1) % count;
                log.next_unkeyed
            }
        };
        let message = Arc::new(StoredMessage {
            pubsub: pubsub.to_owned(),
            topic: topic.to_owned(),
            partition,
            offset: log.partitions[partition].end(),
            key: key.clone(),
            metadata,
            bytes: bytes.clone(),
            head,
            timestamp: now,
        });
        let stored = &mut log.partitions[partition];
        stored.messages.push_back(message.clone());
        stored.appended.send_modify(|n| *n = n.wrapping_add(1));
        if stored.messages.len() > UNCONSUMED_LIMIT
            && !inner
                .groups
                .keys()
                .any(|group| self.log_key(&group.pubsub, &group.topic) == log_key)
        {
            // Nobody reads this log (yet): keep the newest, as a broker's retention would.
            let end = stored.end();
            stored.trim_to(end - UNCONSUMED_LIMIT as u64);
        }
        inner.published.push_back(Inspected {
            pubsub: pubsub.to_owned(),
            topic: topic.to_owned(),
            partition_key: key,
            bytes,
            published_at: now,
        });
        while inner.published.len() > INSPECTION_LIMIT {
            inner.published.pop_front();
        }
        drop(guard);
        message
    }

    pub fn message_at(
        &self,
        key: &GroupKey,
        partition: usize,
        offset: u64,
    ) -> Option<Arc<StoredMessage>> {
        let log_key = self.log_key(&key.pubsub, &key.topic);
        let inner = lock(&self.inner);
        let log = inner.topics.get(&log_key)?;
        log.partitions.get(partition)?.get(offset).cloned()
    }

    /// Forgets the messages of `key`'s log in `partition` that every consumer group reading
    /// that log has acknowledged.
    pub fn trim(&self, key: &GroupKey, partition: usize) {
        let log_key = self.log_key(&key.pubsub, &key.topic);
        let mut inner = lock(&self.inner);
        let acknowledged = inner
            .groups
            .iter()
            .filter(|(group_key, _)| self.log_key(&group_key.pubsub, &group_key.topic) == log_key)
            .filter_map(|(_, group)| group.committed.get(partition))
            .map(|committed| committed.load(Ordering::Acquire))
            .min();
        if let (Some(acknowledged), Some(log)) = (acknowledged, inner.topics.get_mut(&log_key))
            && let Some(stored) = log.partitions.get_mut(partition)
        {
            let newest = stored.end().saturating_sub(RETAINED_ACKNOWLEDGED);
            stored.trim_to(acknowledged.min(newest));
        }
    }

    /// Messages held in partition logs (for memory tests).
    /// Messages of `pubsub`/`topic`'s log that its slowest consumer group has not acknowledged.
    pub fn backlog(&self, pubsub: &str, topic: &str) -> u64 {
        let log_key = self.log_key(pubsub, topic);
        let inner = lock(&self.inner);
        let Some(log) = inner.topics.get(&log_key) else {
            return 0;
        };
        let groups: Vec<&Arc<Group>> = inner
            .groups
            .iter()
            .filter(|(key, _)| self.log_key(&key.pubsub, &key.topic) == log_key)
            .map(|(_, group)| group)
            .collect();
        let mut behind = 0;
        for (partition, stored) in log.partitions.iter().enumerate() {
            let slowest = groups
                .iter()
                .filter_map(|group| group.committed.get(partition))
                .map(|committed| committed.load(Ordering::Acquire))
                .min();
            if let Some(slowest) = slowest {
                behind += stored.end().saturating_sub(slowest.max(stored.start));
            }
        }
        behind
    }

    pub fn retained(&self) -> usize {
        lock(&self.inner)
            .topics
            .values()
            .flat_map(|log| log.partitions.iter())
            .map(|p| p.messages.len())
            .sum()
    }

    /// Signals every append to `partition` of `key`'s log (the log is made if it is not there
    /// yet, as a consumer group makes a Kafka topic's partitions known before any publish).
    pub fn appends(&self, key: &GroupKey, partition: usize) -> watch::Receiver<u64> {
        let log_key = self.log_key(&key.pubsub, &key.topic);
        let mut inner = lock(&self.inner);
        match TopicLog::of(&mut inner.topics, &log_key)
            .partitions
            .get(partition)
        {
            Some(stored) => stored.appended.subscribe(),
            // No such partition: nothing will ever be appended to it.
            None => watch::Sender::new(0).subscribe(),
        }
    }

    /// The newest published messages (at most [`INSPECTION_LIMIT`]), oldest first.
    pub fn published(&self) -> Vec<PublishedMessage> {
        let inspected: Vec<Inspected> = lock(&self.inner).published.iter().cloned().collect();
        inspected
            .into_iter()
            .map(|m| PublishedMessage {
                envelope: envelope_of(&m.bytes),
                pubsub: m.pubsub,
                topic: m.topic,
                partition_key: m.partition_key,
                published_at: m.published_at,
            })
            .collect()
    }

    /// Adds `member` to its group. Returns the group and its starting offsets when the group
    /// is new, so the caller starts its partition loops exactly once.
    pub fn join(
        &self,
        key: GroupKey,
        member: Member,
        start_at_newest: bool,
    ) -> Option<(Arc<Group>, Vec<u64>)> {
        let log_key = self.log_key(&key.pubsub, &key.topic);
        let mut inner = lock(&self.inner);
        if let Some(group) = inner.groups.get(&key) {
            lock(&group.members).push(Arc::new(member));
            return None;
        }
        let offsets: Vec<u64> = match inner.topics.get(&log_key) {
            Some(log) if start_at_newest => log.partitions.iter().map(Partition::end).collect(),
            Some(log) => log.partitions.iter().map(|p| p.start).collect(),
            None => vec![0; partitions_of(&log_key)],
        };
        let group = Arc::new(Group {
            key: key.clone(),
            members: Mutex::new(vec![Arc::new(member)]),
            next: AtomicUsize::new(0),
            committed: offsets.iter().map(|o| AtomicU64::new(*o)).collect(),
        });
        inner.groups.insert(key, group.clone());
        Some((group, offsets))
    }
}

/// Sarama's hash partitioner (FNV-1a, 32 bit), so keys land where they would on Kafka.
pub fn partition_for_key(key: &str) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in key.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let signed = (hash as i32) % PARTITIONS as i32;
    signed.unsigned_abs() as usize
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(topic: &str, group: &str) -> GroupKey {
        GroupKey {
            pubsub: "pubsub".to_owned(),
            topic: topic.to_owned(),
            group: group.to_owned(),
        }
    }

    fn to_partition(n: usize) -> BTreeMap<String, String> {
        BTreeMap::from([("partitionNumber".to_owned(), n.to_string())])
    }

    /// Deliveries read an envelope's expiration and trace context from a head read once per
    /// message, without the tree; whatever the bytes, it says what the tree says.
    #[test]
    fn an_envelopes_head_says_what_its_json_tree_says() {
        let cases: [&[u8]; 9] = [
            br#"{"id":"1","expiration":"2020-01-01T00:00:00Z","traceparent":"00-ab-cd-01","tracestate":"k=v","data":{"expiration":"nested"}}"#,
            br#"{"id":"1","data":{"traceparent":"nested"}}"#,
            br#"{"expiration":17,"traceparent":null,"tracestate":["x"]}"#,
            br#"{"traceparent":"first","traceparent":"second"}"#,
            br#"{"traceparent":"esc\u0061ped\n"}"#,
            br#""a raw payload""#,
            b"not json at all",
            br#"[1,2]"#,
            br#"{"traceparent":"a"} trailing"#,
        ];
        for bytes in cases {
            assert_eq!(
                EnvelopeHead::of(bytes),
                EnvelopeHead::of_tree(&envelope_of(bytes)),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        let repeated = EnvelopeHead::of(br#"{"traceparent":"first","traceparent":"second"}"#);
        assert_eq!(repeated.traceparent.as_deref(), Some("second"));
        let escaped = EnvelopeHead::of(br#"{"traceparent":"esc\u0061ped\n"}"#);
        assert_eq!(escaped.traceparent.as_deref(), Some("escaped\n"));
    }

    #[test]
    fn an_envelope_is_expired_once_its_expiration_has_passed() {
        let at = |expiration: &str| EnvelopeHead {
            expiration: Some(expiration.to_owned()),
            ..EnvelopeHead::default()
        };
        assert!(at("2020-01-01T00:00:00Z").is_expired());
        assert!(!at("2999-01-01T00:00:00Z").is_expired());
        assert!(!at("not a time").is_expired());
        assert!(!EnvelopeHead::default().is_expired());
    }

    /// Every partition loop of every consumer group waited on one signal, bumped by any
    /// append, so each publish woke them all to find nothing new (docs/benchmarks.md, "eighth
    /// pass"). An append now wakes the loops reading its own partition, of every group, and no
    /// other; a loop that starts before its topic's first publish is woken by it too.
    #[test]
    fn an_append_wakes_the_loops_of_its_own_partition_in_every_group_and_no_other() {
        let broker = Broker::new(&[]);
        let mut reader = broker.appends(&key("a", "audit"), 1);
        let other_group = broker.appends(&key("a", "websocket"), 1);
        let other_partition = broker.appends(&key("a", "audit"), 2);
        let other_topic = broker.appends(&key("b", "audit"), 1);

        broker.append("pubsub", "a", to_partition(1), Bytes::from_static(b"{}"));

        assert!(reader.has_changed().unwrap());
        assert!(other_group.has_changed().unwrap());
        assert!(!other_partition.has_changed().unwrap());
        assert!(!other_topic.has_changed().unwrap());
        reader.borrow_and_update();
        broker.append("pubsub", "b", to_partition(1), Bytes::from_static(b"{}"));
        assert!(!reader.has_changed().unwrap());
        assert!(other_topic.has_changed().unwrap());
        assert!(
            broker
                .message_at(&key("a", "audit"), 1, 0)
                .is_some_and(|message| message.partition == 1)
        );
    }
}
