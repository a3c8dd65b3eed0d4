//! The hash chain: what an audit entry is, its one canonical byte form, and how a user's
//! chain is linked and checked.
//!
//! `hash = hex(sha256(prev_hash || canonical_json(entry)))`, where `prev_hash` is the hex hash
//! of the user's previous entry (the empty string for the first one). The canonical form must
//! come out byte-identical whether it is computed from the incoming event or from the row read
//! back years later, so it only contains values that survive a round trip through Postgres:
//! timestamps are truncated to microseconds (what `timestamptz` stores) and rendered as RFC 3339
//! with exactly six fractional digits, and JSON objects are written with sorted keys (`jsonb`
//! does not keep key order).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use common::events::{Actor, EventType, TaskEvent};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The fields of one audit entry that the hash covers (everything but the row id and hashes).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Entry {
    /// The event this entry records (unique).
    pub event_id: Uuid,
    /// The owner of the task; chains are per user.
    pub user_id: String,
    /// The topic name (`task-created`, …).
    pub event_type: String,
    /// The task the event is about.
    pub task_id: Option<Uuid>,
    /// Who made the change (`user`, `recurring`, …).
    pub actor: String,
    /// When the change happened (the event's timestamp), in microseconds.
    pub occurred_at: DateTime<Utc>,
    /// When the audit service recorded it, in microseconds.
    pub recorded_at: DateTime<Utc>,
    /// Field → before/after, for updates.
    pub changes: Option<Value>,
    /// The task after the change (its last state for deletions), without `changes`.
    pub snapshot: Option<Value>,
}

impl Entry {
    /// The entry for `event`, recorded at `recorded_at`.
    pub fn from_event(event: &TaskEvent, recorded_at: DateTime<Utc>) -> Self {
        let changes = event
            .data
            .changes
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok());
        let mut task = event.data.clone();
        task.changes = None;
        let mut snapshot = serde_json::to_value(&task).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut snapshot {
            fields.insert("version".to_owned(), json!(event.task_version));
        }
        Self {
            event_id: event.event_id,
            user_id: event.user_id.clone(),
            event_type: event_type_name(event.event_type).to_owned(),
            task_id: Some(event.data.task_id),
            actor: actor_name(event.actor),
            occurred_at: event.timestamp.trunc_subsecs(6),
            recorded_at: recorded_at.trunc_subsecs(6),
            changes,
            snapshot: Some(snapshot),
        }
    }
}

fn event_type_name(event_type: EventType) -> &'static str {
    event_type.topic()
}

fn actor_name(actor: Actor) -> String {
    match serde_json::to_value(actor) {
        Ok(Value::String(name)) => name,
        _ => "system".to_owned(),
    }
}

/// A timestamp as the chain writes it: RFC 3339, UTC, exactly six fractional digits.
pub fn canonical_time(time: DateTime<Utc>) -> String {
    time.trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `value` written with every object's keys in sorted order, at every depth, without building
/// a sorted copy of it.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(fields) => {
                let mut keys: Vec<&String> = fields.keys().collect();
                keys.sort_unstable();
                let mut map = serializer.serialize_map(Some(keys.len()))?;
                for key in keys {
                    map.serialize_entry(key, &Sorted(&fields[key]))?;
                }
                map.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(Sorted)),
            other => other.serialize(serializer),
        }
    }
}

/// The canonical form's object, its fields in sorted order.
#[derive(Serialize)]
struct Canonical<'a> {
    actor: &'a str,
    changes: Option<Sorted<'a>>,
    event_id: String,
    event_type: &'a str,
    occurred_at: String,
    recorded_at: String,
    snapshot: Option<Sorted<'a>>,
    task_id: Option<String>,
    user_id: &'a str,
}

/// The one canonical serialization of `entry` that the hash covers. Written straight from the
/// entry: building it as a JSON tree first (a copy of the task's snapshot, then a sorted copy
/// of that) was the largest part of audit's own work under load (docs/benchmarks.md, eleventh
/// pass).
pub fn canonical_json(entry: &Entry) -> String {
    let canonical = Canonical {
        actor: &entry.actor,
        changes: entry.changes.as_ref().map(Sorted),
        event_id: entry.event_id.to_string(),
        event_type: &entry.event_type,
        occurred_at: canonical_time(entry.occurred_at),
        recorded_at: canonical_time(entry.recorded_at),
        snapshot: entry.snapshot.as_ref().map(Sorted),
        task_id: entry.task_id.map(|id| id.to_string()),
        user_id: &entry.user_id,
    };
    // Strings, numbers and maps of them always write as JSON.
    serde_json::to_string(&canonical).unwrap_or_default()
}

/// The hash of `entry` linked after `prev_hash` (`None` for a user's first entry).
pub fn link_hash(prev_hash: Option<&str>, entry: &Entry) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.unwrap_or_default().as_bytes());
    hasher.update(canonical_json(entry).as_bytes());
    hex::encode(hasher.finalize())
}

/// Walks one user's entries in chain order and remembers the first one that does not fit.
#[derive(Debug, Default)]
pub struct ChainCheck {
    entries: u64,
    last_hash: Option<String>,
    first_broken: Option<Uuid>,
}

impl ChainCheck {
    /// Checks the next stored entry: its `prev_hash` must name the previous entry's hash and its
    /// `hash` must be the recomputed one. After a break the rest is only counted, since every
    /// later link depends on the broken one.
    pub fn push(&mut self, entry: &Entry, prev_hash: Option<&str>, hash: &str) {
        self.entries += 1;
        if self.first_broken.is_some() {
            return;
        }
        let linked = prev_hash == self.last_hash.as_deref();
        if !linked || link_hash(prev_hash, entry) != hash {
            self.first_broken = Some(entry.event_id);
            return;
        }
        self.last_hash = Some(hash.to_owned());
    }

    /// How many entries were checked.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The event id of the first entry that fails the check, if any.
    pub fn first_broken(&self) -> Option<Uuid> {
        self.first_broken
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(n: u128) -> Entry {
        Entry {
            event_id: Uuid::from_u128(n),
            user_id: "alice".to_owned(),
            event_type: "task-updated".to_owned(),
            task_id: Some(Uuid::from_u128(7)),
            actor: "user".to_owned(),
            occurred_at: "2026-11-26T10:00:00.123456789Z".parse().unwrap(),
            recorded_at: "2026-11-26T10:00:01Z".parse().unwrap(),
            changes: Some(json!({"title": {"before": "a", "after": "b"}})),
            snapshot: Some(json!({"title": "b", "tags": ["x"], "a": 1})),
        }
    }

    #[test]
    fn the_canonical_form_sorts_keys_and_writes_microsecond_timestamps() {
        let text = canonical_json(&entry(1));
        assert!(
            text.starts_with(r#"{"actor":"user","changes":{"title":{"after":"b","before":"a"}}"#)
        );
        assert!(text.contains(r#""occurred_at":"2026-11-26T10:00:00.123456Z""#));
        assert!(text.contains(r#""recorded_at":"2026-11-26T10:00:01.000000Z""#));
        assert!(text.contains(r#""snapshot":{"a":1,"tags":["x"],"title":"b"}"#));
    }

    /// The form every stored hash was computed over: the entry as a JSON tree, every object
    /// of it copied with sorted keys, written compactly.
    fn canonical_json_through_a_tree(entry: &Entry) -> String {
        fn sorted(value: &Value) -> Value {
            match value {
                Value::Object(fields) => {
                    let mut keys: Vec<&String> = fields.keys().collect();
                    keys.sort();
                    let mut out = serde_json::Map::new();
                    for key in keys {
                        out.insert(key.clone(), sorted(&fields[key]));
                    }
                    Value::Object(out)
                }
                Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        let value = json!({
            "event_id": entry.event_id.to_string(),
            "user_id": entry.user_id,
            "event_type": entry.event_type,
            "task_id": entry.task_id.map(|id| id.to_string()),
            "actor": entry.actor,
            "occurred_at": canonical_time(entry.occurred_at),
            "recorded_at": canonical_time(entry.recorded_at),
            "changes": entry.changes,
            "snapshot": entry.snapshot,
        });
        sorted(&value).to_string()
    }

    /// Hashes already stored must still verify: the canonical form, now written without the
    /// tree, is byte for byte the one before, whatever the entry holds.
    #[test]
    fn the_canonical_form_is_byte_for_byte_the_one_stored_hashes_cover() {
        let mut bare = entry(2);
        bare.task_id = None;
        bare.changes = None;
        bare.snapshot = None;
        let mut deep = entry(3);
        deep.user_id = "b\"ob\u{e9}\n".to_owned();
        deep.snapshot = Some(json!({
            "zeta": [{"b": 1, "a": [2.5, -3, null, true]}, "é \u{1f600}", {}],
            "alpha": {"nested": {"y": "\"quoted\"", "x": 1e21}},
            "Upper": 18446744073709551615u64,
            "": "empty key",
        }));
        deep.changes = Some(json!({"tags": {"before": [], "after": ["a", "b"]}}));
        for entry in [entry(1), bare, deep] {
            assert_eq!(
                canonical_json(&entry),
                canonical_json_through_a_tree(&entry)
            );
        }
        assert_eq!(
            canonical_json(&entry(1)),
            r#"{"actor":"user","changes":{"title":{"after":"b","before":"a"}},"event_id":"00000000-0000-0000-0000-000000000001","event_type":"task-updated","occurred_at":"2026-11-26T10:00:00.123456Z","recorded_at":"2026-11-26T10:00:01.000000Z","snapshot":{"a":1,"tags":["x"],"title":"b"},"task_id":"00000000-0000-0000-0000-000000000007","user_id":"alice"}"#
        );
    }

    #[test]
    fn a_changed_field_or_a_different_predecessor_changes_the_hash() {
        let original = entry(1);
        let hash = link_hash(None, &original);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, link_hash(None, &original.clone()));
        let mut edited = original.clone();
        edited.snapshot = Some(json!({"title": "c"}));
        assert_ne!(hash, link_hash(None, &edited));
        assert_ne!(hash, link_hash(Some("00"), &original));
    }

    #[test]
    fn the_check_reports_the_first_entry_whose_link_or_hash_is_wrong() {
        let (a, b, c) = (entry(1), entry(2), entry(3));
        let ha = link_hash(None, &a);
        let hb = link_hash(Some(&ha), &b);
        let hc = link_hash(Some(&hb), &c);
        let mut intact = ChainCheck::default();
        intact.push(&a, None, &ha);
        intact.push(&b, Some(&ha), &hb);
        intact.push(&c, Some(&hb), &hc);
        assert_eq!((intact.entries(), intact.first_broken()), (3, None));

        let mut tampered = ChainCheck::default();
        let mut b2 = b.clone();
        b2.actor = "system".to_owned();
        tampered.push(&a, None, &ha);
        tampered.push(&b2, Some(&ha), &hb);
        tampered.push(&c, Some(&hb), &hc);
        assert_eq!(
            (tampered.entries(), tampered.first_broken()),
            (3, Some(b.event_id))
        );

        let mut skipped = ChainCheck::default();
        skipped.push(&a, None, &ha);
        skipped.push(&c, Some(&hb), &hc);
        assert_eq!(skipped.first_broken(), Some(c.event_id));
    }
}
