//! backend-api: the task API of docs/contract.md §4. Users create, read, update, complete, reopen
//! and delete their own tasks; lists are filtered, searched, sorted and paginated by keyset cursor.
//! Every change writes its event to the outbox in the same transaction, and the outbox relay
//! publishes it through the Dapr sidecar (see `common::outbox`).
//!
//! The same task operations (`tasks::service`) serve the AI assistant ([`assistant`]),
//! which acts only as the signed-in user; quick-add texts and the assistant's date phrases are
//! read by one deterministic parser ([`quickadd`]). External agents reach the same tools over
//! MCP ([`mcp`]). Calendar apps subscribe to a user's tasks as iCalendar ([`calendar`]).

pub mod account;
pub mod assistant;
pub mod calendar;
pub mod docs;
pub mod limits;
pub mod mcp;
pub mod quickadd;
pub mod routes;
pub mod startup;
pub mod tasks;
pub mod transfer;

pub use startup::{Settings, build};
