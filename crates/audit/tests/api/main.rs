//! audit integration tests: the real service on port 0 against a fresh Postgres database per
//! test, fed deliveries over HTTP exactly as the sidecar sends them, and through the dev sidecar.
#![allow(clippy::unwrap_used)]

mod bulk;
mod chain;
mod delivery;
mod erasure;
mod helpers;
mod listing;
mod sidecar;
