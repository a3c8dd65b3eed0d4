//! Wiring: state, routes, background loops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, Method};
use axum::routing::{get, post};
use common::CancellationToken;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::dapr::DaprClient;
use common::limits::{LimitOf, Rate, UserLimit};
use common::server::{Readiness, Server, Service, ops_routes, require_app_token, subscribe_route};
use tower_http::cors::{Any, CorsLayer};

use crate::hub::{Hub, HubLimits};
use crate::{SERVICE, events, sse, ticket, ws};

const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Real-time tuning (defaults follow docs/contract.md §4: heartbeats every 25 s).
#[derive(Debug, Clone, Copy)]
pub struct RealtimeSettings {
    /// WebSocket ping / SSE keep-alive interval.
    pub heartbeat: Duration,
    /// Lifetime of a connection ticket.
    pub ticket_ttl: Duration,
    /// Fan-out limits.
    pub hub: HubLimits,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(25),
            ticket_ttl: ticket::DEFAULT_TICKET_TTL,
            hub: HubLimits::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub verifier: Arc<JwtVerifier>,
    pub dapr: DaprClient,
    pub settings: RealtimeSettings,
    /// Cancelled when the service shuts down: sockets close with 1001, SSE streams end.
    pub closing: CancellationToken,
    /// Per-user budget of connection tickets.
    pub ticket_limit: Arc<UserLimit>,
}

/// `POST /api/realtime/ticket` per user: `LIMIT_TICKETS_PER_MINUTE`.
pub const TICKET_RATE: Rate = Rate::per_minute(60);

/// The ticket budget, for [`common::limits::Limited`].
pub enum Tickets {}

impl LimitOf<AppState> for Tickets {
    fn limit(state: &AppState) -> &UserLimit {
        &state.ticket_limit
    }
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// Binds the service with the default real-time settings.
pub async fn build(settings: &ServiceSettings) -> anyhow::Result<Service> {
    build_with(settings, RealtimeSettings::default()).await
}

/// Binds the service with explicit real-time settings (tests use short heartbeats).
pub async fn build_with(
    settings: &ServiceSettings,
    realtime: RealtimeSettings,
) -> anyhow::Result<Service> {
    let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
    let state = AppState {
        hub: Hub::new(realtime.hub),
        verifier: Arc::new(JwtVerifier::new(&settings.auth)),
        dapr: dapr.clone(),
        settings: realtime,
        closing: CancellationToken::new(),
        ticket_limit: UserLimit::new(
            "tickets",
            Rate::from_env("LIMIT_TICKETS_PER_MINUTE", TICKET_RATE)?,
        ),
    };
    let mut deliveries = Router::new();
    for subscription in events::subscriptions() {
        deliveries = deliveries.route(&subscription.route, post(events::on_event));
    }
    let internal = require_app_token(
        deliveries
            .with_state(state.clone())
            .merge(subscribe_route(events::subscriptions())),
        settings.app_api_token.clone(),
    );
    let public = Router::new()
        .route("/ws", get(ws::upgrade))
        // EventSource from the UI's origin is a cross-origin GET; the credential is the token in
        // the URL, not a cookie, so allowing any origin grants nothing.
        .route(
            "/api/sse",
            get(sse::stream).layer(
                CorsLayer::new()
                    .allow_origin(Any)
                    .allow_methods([Method::GET])
                    .allow_headers([LAST_EVENT_ID]),
            ),
        )
        .route("/api/realtime/ticket", post(ticket::issue))
        .with_state(state.clone());
    let router = public
        .merge(internal)
        .merge(common::openapi::route(
            <ticket::ApiDoc as utoipa::OpenApi>::openapi(),
        ))
        .merge(ops_routes(Readiness { pool: None, dapr }));
    let server = Server::bind(
        SocketAddr::new(settings.host, settings.port),
        router,
        SERVICE,
    )
    .await?;
    tracing::info!(port = server.port(), "websocket listening");
    let closing = state.closing.clone();
    let hub = state.hub.clone();
    let ticket_limit = state.ticket_limit.clone();
    Ok(Service::new(server)
        .with_background(move |shutdown| async move {
            shutdown.cancelled().await;
            closing.cancel();
        })
        .with_background(move |shutdown| async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = every.tick() => {
                        hub.prune_idle();
                        ticket_limit.forget_idle();
                    }
                    () = shutdown.cancelled() => return,
                }
            }
        }))
}
