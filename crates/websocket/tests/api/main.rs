//! websocket integration tests: the service on a real port, real WebSocket and SSE clients,
//! tickets in real Redis through the dev sidecar.
#![allow(clippy::unwrap_used)]

mod connect;
mod helpers;
mod push;
