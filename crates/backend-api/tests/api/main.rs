//! backend-api integration tests: the real service on a real port against a fresh Postgres
//! database per test, with the dev sidecar where events must flow.
#![allow(clippy::unwrap_used)]

mod auth;
mod concurrency;
mod helpers;
mod outbox;
mod tasks;
mod validation;
