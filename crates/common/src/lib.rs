//! Contracts and plumbing shared by the taskfleet services.
//!
//! Everything here is used by two or more services: the event contracts that travel through
//! Dapr pub/sub ([`events`]), the Dapr HTTP client ([`dapr`]), JWT authentication ([`auth`])
//! and the deleted accounts it refuses ([`erased`]),
//! the one API error type ([`error`]), typed settings ([`config`]), telemetry, the database
//! migrator and the task repository that backend-api and recurring both write through
//! ([`db`], [`tasks`]), the transactional outbox and its relay ([`outbox`]), the consumer-side
//! idempotency record ([`idempotency`]), the dead-letter inbox and retrier ([`dead_letters`])
//! and the HTTP plumbing every service mounts ([`server`]).

pub mod auth;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod dapr;
pub mod db;
pub mod dead_letters;
pub mod delivery;
pub mod erased;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod openapi;
pub mod outbox;
pub mod recurrence;
pub mod reminders;
pub mod server;
pub mod tasks;
pub mod telemetry;

/// The shutdown signal shared by every task of a service (re-exported for the services).
pub use secrecy::{ExposeSecret, SecretString};
pub use tokio_util::sync::CancellationToken;
