//! Wiring: state, router, server, and the two background loops (reminder scheduler, outbox
//! relay).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::dapr::DaprClient;
use common::outbox::{OutboxRelay, RelaySettings};
use common::server::{Readiness, Server, Service, ops_routes, require_app_token, subscribe_route};
use sqlx::PgPool;

use crate::SERVICE;
use crate::reminders::{ClaimSettings, SchedulerSettings, run_scheduler};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Token verification.
    pub verifier: Arc<JwtVerifier>,
    /// How the cron route claims.
    pub claim: ClaimSettings,
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// Pacing of the background work; the defaults are production's, tests shorten them.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Outbox relay pacing.
    pub relay: RelaySettings,
    /// Catch-up window and batch size of every claim.
    pub claim: ClaimSettings,
    /// The exact-time loop; `None` leaves only the cron tick (tests of the safety net).
    pub scheduler: Option<SchedulerSettings>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            relay: RelaySettings::default(),
            claim: ClaimSettings::default(),
            scheduler: Some(SchedulerSettings::default()),
        }
    }
}

/// The whole HTTP surface (without the standard layers, which [`Server::bind`] adds).
pub fn router(state: AppState, readiness: Readiness, app_api_token: Option<String>) -> Router {
    // Internal routes: only the sidecar may call them when an app token is configured.
    let internal = subscribe_route(Vec::new()).merge(crate::routes::cron::router(state.clone()));
    Router::new()
        .merge(crate::routes::notifications::router())
        .with_state(state)
        .merge(common::openapi::route(
            <crate::routes::notifications::ApiDoc as utoipa::OpenApi>::openapi(),
        ))
        .merge(ops_routes(readiness))
        .merge(require_app_token(internal, app_api_token))
}

/// Connects (lazily) to Postgres, binds the port and prepares the scheduler and relay.
pub async fn build(settings: &ServiceSettings) -> anyhow::Result<Service> {
    let pool = common::db::connect_lazy(&settings.database_url, settings.database_max_connections)?;
    build_with_pool(settings, pool, BuildOptions::default()).await
}

/// Like [`build`] with an existing pool and pacing (tests).
pub async fn build_with_pool(
    settings: &ServiceSettings,
    pool: PgPool,
    options: BuildOptions,
) -> anyhow::Result<Service> {
    let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
    let state = AppState {
        pool: pool.clone(),
        verifier: Arc::new(JwtVerifier::new(&settings.auth)),
        claim: options.claim.clone(),
    };
    let readiness = Readiness {
        pool: Some(pool.clone()),
        dapr: dapr.clone(),
    };
    let server = Server::bind(
        SocketAddr::new(settings.host, settings.port),
        router(state, readiness, settings.app_api_token.clone()),
        SERVICE,
    )
    .await?;
    tracing::info!(port = server.port(), "notification listening");
    let relay = OutboxRelay::new(pool.clone(), dapr.clone(), options.relay);
    // Reminders fire (into the outbox) whether or not the sidecar is up; the relay publishes
    // them once it is.
    let mut service = Service::new(server)
        .with_background(move |shutdown| relay.run_when_sidecar_ready(shutdown));
    if let Some(scheduler) = options.scheduler {
        let claim = options.claim;
        service = service
            .with_background(move |shutdown| run_scheduler(pool, claim, scheduler, shutdown));
    }
    Ok(service)
}
