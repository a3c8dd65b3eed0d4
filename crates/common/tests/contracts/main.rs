//! Tests of common's contracts against real peers: a JWKS server on a real port, and the Dapr
//! client against the dev sidecar with real Redis.
#![allow(clippy::unwrap_used)]

mod auth;
mod dapr;
mod errors;
