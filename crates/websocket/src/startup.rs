//! Wiring: state, routes, background loops.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, Method};
use axum::routing::{get, post};
use common::CancellationToken;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::delivery::BulkSubscribe;
use common::erased::ErasedAccounts;
use common::events::topics;
use common::limits::{LimitOf, Rate, UserLimit};
use common::server::{Ops, Server, Service, subscribe_route};
use tower_http::cors::{Any, CorsLayer};

use crate::hub::{Hub, HubLimits};
use crate::{PORT, SERVICE, events, sse, ticket, ws};

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
    /// Events in batches (`BULK_SUBSCRIBE_MAX_MESSAGES`, `BULK_SUBSCRIBE_MAX_AWAIT_MS`, default
    /// 5 ms: a push waits at most that long for its batch), or one by one.
    pub batching: Option<BulkSubscribe>,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(25),
            ticket_ttl: ticket::DEFAULT_TICKET_TTL,
            hub: HubLimits::default(),
            batching: None,
        }
    }
}

/// Everything the service reads at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Port, sidecar, tokens (websocket has no database: `DATABASE_URL` is not read).
    pub service: ServiceSettings,
    /// Heartbeats, ticket lifetime, connection limits.
    pub realtime: RealtimeSettings,
    /// Tickets per user (`LIMIT_TICKETS_PER_MINUTE`).
    pub ticket_rate: Rate,
}

impl Settings {
    /// `service` with the defaults for the rest.
    pub fn new(service: ServiceSettings) -> Self {
        Self {
            service,
            realtime: RealtimeSettings::default(),
            ticket_rate: TICKET_RATE,
        }
    }

    /// Everything from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_env_for(ServiceSettings::from_env(PORT)?)
    }

    /// `service`, and the rest from the environment (`fleet`).
    pub fn from_env_for(service: ServiceSettings) -> anyhow::Result<Self> {
        Ok(Self {
            ticket_rate: Rate::from_env("LIMIT_TICKETS_PER_MINUTE", TICKET_RATE)?,
            realtime: RealtimeSettings {
                batching: BulkSubscribe::from_env(5)?,
                ..RealtimeSettings::default()
            },
            ..Self::new(service)
        })
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub verifier: Arc<JwtVerifier>,
    /// The accounts deleted since this replica started (told by `user-deleted`: websocket has
    /// no database), whose tokens and tickets the verifier refuses.
    pub erased: Arc<ErasedAccounts>,
    pub realtime: RealtimeSettings,
    /// Cancelled when the service shuts down: sockets close with 1001, SSE streams end.
    pub closing: CancellationToken,
    /// Per-user budget of connection tickets.
    pub ticket_limit: Arc<UserLimit>,
    /// Readiness (the sidecar only), the app token and the sidecar client tickets are kept
    /// with.
    pub ops: Ops,
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

/// The whole service (without the standard layers): `/ws`, `/api/sse` and tickets behind the
/// user's JWT or ticket; deliveries and `/dapr/subscribe` behind the app token.
pub fn router(state: AppState) -> Router {
    let mut deliveries = Router::new();
    for subscription in events::subscriptions(state.realtime.batching) {
        deliveries = if subscription.topic == topics::USER_DELETED {
            deliveries.route(&subscription.route, post(events::on_user_deleted))
        } else {
            deliveries.route(&subscription.route, post(events::on_event))
        };
    }
    let internal =
        deliveries
            .with_state(state.clone())
            .merge(subscribe_route(events::subscriptions(
                state.realtime.batching,
            )));
    let public = Router::new()
        .route("/ws", get(ws::upgrade))
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
    let docs = common::openapi::route(<ticket::ApiDoc as utoipa::OpenApi>::openapi());
    state.ops.assemble(public, internal, docs)
}

/// Binds the port; the hub lives in memory, tickets in the sidecar's state store.
pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let Settings {
        service,
        realtime,
        ticket_rate,
    } = settings;
    let erased = ErasedAccounts::loaded([]);
    let state = AppState {
        hub: Hub::new(realtime.hub),
        verifier: Arc::new(JwtVerifier::new(&service.auth).with_erased(erased.clone())),
        erased,
        realtime,
        closing: CancellationToken::new(),
        ticket_limit: UserLimit::new("tickets", ticket_rate),
        ops: Ops::new(&service, None),
    };
    let closing = state.closing.clone();
    let hub = state.hub.clone();
    let ticket_limit = state.ticket_limit.clone();
    let server = Server::bind(service.address(), router(state), SERVICE).await?;
    tracing::info!(port = server.port(), "websocket listening");
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
