//! audit: the append-only, hash-chained audit trail of every task event and the audit API.
//!
//! The service subscribes to the four task topics (each with its dead-letter topic) and writes
//! one `audit_log` row per event; the row's unique event id is its record of being processed,
//! so redeliveries change nothing. With bulk subscribe (on Kafka, `BULK_SUBSCRIBE_MAX_MESSAGES`) a
//! batch of events is one transaction and one commit ([`journal::append_batch`]). Each user's
//! entries form a hash chain ([`chain`]); the
//! database refuses UPDATE and DELETE on the table, and `GET /api/audit/verify` recomputes the
//! chain to prove nothing was altered behind the triggers' back. The one exception is account
//! deletion (`user-deleted`): [`journal::erase`] deletes the user's entries in a transaction that
//! names that user to the trigger, and a tombstone entry (how many entries, the last hash, no
//! content) starts their chain again; later events of the user are not recorded. `GET /api/audit` lists the
//! caller's entries, filtered and paged by cursor.

pub mod chain;
pub mod journal;
pub mod routes;
pub mod startup;
pub mod subscriptions;

pub use startup::{Settings, build};

/// The service name: app-id, binary, image.
pub const SERVICE: &str = "audit";
/// The app port of docs/contract.md §2.
pub const PORT: u16 = 8004;
