//! Contract tests: each pins one behaviour of docs/dapr-behaviour.md, through real
//! HTTP on port 0 and (for `state.redis`) a real Redis at 127.0.0.1:6379.
#![allow(clippy::unwrap_used)]

mod bulk;
mod bulk_publish;
mod cron;
mod delivery;
mod health;
mod helpers;
mod init;
mod invoke;
mod ordering;
mod publish;
mod resiliency;
mod state;
mod subscriptions;
