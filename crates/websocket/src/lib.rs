//! websocket: real-time push to browsers (docs/contract.md §4 websocket, §6 "Real-time fan-out").
//!
//! Every replica subscribes to every task topic and `reminder-due` on the websocket-scoped
//! `pubsub-broadcast` component, whose consumer group is per pod, so each replica receives every
//! event and pushes it to the connections of the event's user that it holds. Browsers connect to
//! `GET /ws` (WebSocket) or `GET /api/sse` (Server-Sent Events) with `?token=` — a JWT or a
//! single-use ticket from `POST /api/realtime/ticket` — and are refused with 401 before any
//! upgrade otherwise; a user id in the URL is never trusted.
//!
//! Delivery to browsers is best effort by design: a slow connection is dropped rather than
//! slowing the others, events are pushed once per event id, SSE replays what a client missed
//! after `Last-Event-ID` while it is still buffered, and clients re-sync from the task API after
//! every reconnect, so a lost push never leaves a stale view.

mod connect;
mod events;
pub mod hub;
mod sse;
mod startup;
mod ticket;
mod ws;

pub use events::subscriptions;
pub use startup::{RealtimeSettings, Settings, build};
pub use ws::MAX_CLIENT_MESSAGE;

/// The service name: app-id, binary, image.
pub const SERVICE: &str = "websocket";
/// The app port of docs/contract.md §2.
pub const PORT: u16 = 8001;
