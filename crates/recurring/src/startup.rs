//! Wiring: the router, the server and the outbox relay that publishes `task-created`.

use axum::Router;
use common::config::ServiceSettings;
use common::dead_letters::{DeadLetters, RetrySettings};
use common::outbox::{OutboxRelay, RelaySettings};
use common::server::{Ops, Server, Service};
use sqlx::PgPool;

use crate::subscriptions::Occurrences;
use crate::{PORT, SERVICE};

/// Everything the service reads at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Port, sidecar, database, tokens.
    pub service: ServiceSettings,
    /// Outbox relay pacing (the next occurrences' `task-created` events).
    pub relay: RelaySettings,
    /// Pacing of dead-letter retries.
    pub retry: RetrySettings,
}

impl Settings {
    /// `service` with the defaults for the rest.
    pub fn new(service: ServiceSettings) -> Self {
        Self {
            service,
            relay: RelaySettings::default(),
            retry: RetrySettings::default(),
        }
    }

    /// Everything from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self::new(ServiceSettings::from_env(PORT)?))
    }
}

/// What the routes reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Retries of parked deliveries.
    pub dead_letters: DeadLetters<Occurrences>,
    /// Readiness and the app token.
    pub ops: Ops,
}

/// The whole service (without the standard layers): recurring has no user routes, only the
/// internal ones behind the app token, and the ops routes.
pub fn router(state: AppState) -> Router {
    let internal = crate::subscriptions::routes(state.pool.clone(), &state.dead_letters);
    state.ops.assemble(Router::new(), internal, Router::new())
}

/// Connects lazily, binds the port and prepares the outbox relay, the dead-letter retrier and
/// the janitor of processed-event records.
pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let Settings {
        service,
        relay,
        retry,
    } = settings;
    let pool = common::db::connect_lazy(&service.database_url, service.database_max_connections)?;
    let dead_letters = DeadLetters::new(pool.clone(), SERVICE, Occurrences(pool.clone()), retry);
    let state = AppState {
        pool: pool.clone(),
        dead_letters: dead_letters.clone(),
        ops: Ops::new(&service, Some(pool.clone())),
    };
    let relay = OutboxRelay::new(pool.clone(), state.ops.dapr().clone(), relay);
    let server = Server::bind(service.address(), router(state), SERVICE).await?;
    tracing::info!(port = server.port(), "recurring listening");
    Ok(Service::new(server)
        .with_background(move |shutdown| relay.run_when_sidecar_ready(shutdown))
        .with_background(move |shutdown| dead_letters.run(shutdown))
        .with_background(move |shutdown| {
            common::idempotency::forget_processed_periodically(
                pool,
                SERVICE,
                common::idempotency::PROCESSED_RETENTION,
                shutdown,
            )
        }))
}
