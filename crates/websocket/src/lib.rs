//! websocket: real-time push to browsers over WebSocket with SSE fallback.
//!
//! This build serves the process contract of SPEC §2 (`/healthz`, `/readyz`, `/metrics`)
//! and an empty `GET /dapr/subscribe`; its event handling is built in the next issue.

use common::config::ServiceSettings;
use common::server::{Service, bind_basic_service};

/// The service name: app-id, binary, image.
pub const SERVICE: &str = "websocket";
/// The app port of SPEC §2.
pub const PORT: u16 = 8001;

/// Binds the service per `settings`; call `run_until_stopped` on the result.
pub async fn build(settings: &ServiceSettings) -> anyhow::Result<Service> {
    bind_basic_service(SERVICE, settings, Vec::new()).await
}
