//! notification: reminders that fire once and on time, the notifications API, and
//! `reminder-due` events (docs/contract.md §4, §6).
//!
//! * **Exact time**: every replica runs [`reminders::scheduler`], which sleeps until the next
//!   pending `reminder_at` (woken early by the NOTIFY a trigger on `tasks` sends when a write
//!   plans a reminder) and then claims what is due.
//! * **Once**: [`reminders::claim`] inserts the notification and the outbox `reminder-due`
//!   event in one transaction, guarded by `UNIQUE (task_id, reminder_at)`, so any number of
//!   replicas and cron ticks fire each reminder exactly once.
//! * **Safety net**: the Dapr cron binding `reminder-cron` (`@every 1m`, on every replica)
//!   runs the same claim ([`routes::cron`]).
//! * **Source of truth**: the `tasks` table itself; moving, completing or deleting a task
//!   reschedules or cancels its reminder with no extra bookkeeping.
//! * The outbox relay publishes the events. The service subscribes to its own `reminder-due`,
//!   to push each reminder to the user's browsers while no tab is open ([`push`]), and to
//!   `user-deleted` ([`erasure`]): a deleted account's notifications go.

pub mod erasure;
pub mod push;
pub mod reminders;
pub mod routes;
pub mod startup;
pub mod subscriptions;

/// The service name: app-id, binary, image, CloudEvent `source`.
pub const SERVICE: &str = "notification";
/// The app port of docs/contract.md §2.
pub const PORT: u16 = 8003;

pub use startup::{Settings, build};
