//! recurring: creates exactly one next occurrence when a recurring task is completed.
//!
//! The service subscribes to `task-completed` (programmatic subscription with a dead-letter
//! topic). For a completed task with a `recurring_rule` it computes the next occurrence in the
//! task's time zone, anchored to the series start ([`schedule`]), and in one transaction records
//! the event as processed, links the completed occurrence to its successor (the database fact
//! "one next occurrence per completed occurrence", [`series`]), inserts the new task and writes
//! its `task-created` event (`actor: recurring`) to the outbox ([`occurrence`]). Its own outbox
//! relay publishes that event once the sidecar is reachable ([`startup`]).

pub mod occurrence;
pub mod schedule;
pub mod series;
pub mod startup;
pub mod subscriptions;

pub use startup::{Settings, build};

/// The service name: app-id, binary, image, CloudEvent `source`, consumer name.
pub const SERVICE: &str = "recurring";
/// The app port of docs/contract.md §2.
pub const PORT: u16 = 8002;
