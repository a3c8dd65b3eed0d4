//! notification integration tests: real services on port 0 against a fresh Postgres database
//! per test, tasks written the way backend-api writes them (the trigger on `tasks` NOTIFYs the
//! ones that plan a reminder).
#![allow(clippy::unwrap_used)]

mod cron;
mod helpers;
mod notifications;
mod push;
mod scheduler;
mod validation;
