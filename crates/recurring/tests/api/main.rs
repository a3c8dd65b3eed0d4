//! recurring integration tests: the real service on a real port against a fresh Postgres
//! database per test; deliveries are POSTed over HTTP exactly as the sidecar sends them.
#![allow(clippy::unwrap_used)]

mod deliveries;
mod helpers;
mod series;
