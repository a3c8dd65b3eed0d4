//! Wiring: settings, state, router and server — the shape every service has: `Settings`
//! read in `main`, [`build`] from them, [`router`] from the state.

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::dead_letters::{DeadLetters, RetrySettings};
use common::delivery::BulkSubscribe;
use common::limits::{LimitOf, Rate, UserLimit};
use common::server::{Ops, Server, Service, subscribe_route};
use sqlx::PgPool;

use crate::subscriptions::Journal;
use crate::{PORT, SERVICE};

/// Everything the service reads at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Port, sidecar, database, tokens.
    pub service: ServiceSettings,
    /// `GET /api/audit/verify` per user (`LIMIT_VERIFY_PER_MINUTE`).
    pub verify_rate: Rate,
    /// Pacing of dead-letter retries.
    pub retry: RetrySettings,
    /// Deliveries in batches, each recorded in one transaction (`BULK_SUBSCRIBE_MAX_MESSAGES`,
    /// `BULK_SUBSCRIBE_MAX_AWAIT_MS`, default 50 ms), or one by one.
    pub batching: Option<BulkSubscribe>,
}

impl Settings {
    /// `service` with the defaults for the rest (tests).
    pub fn new(service: ServiceSettings) -> Self {
        Self {
            service,
            verify_rate: VERIFY_RATE,
            retry: RetrySettings::default(),
            batching: None,
        }
    }

    /// Everything from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_env_for(ServiceSettings::from_env(PORT)?)
    }

    /// `service`, and the rest from the environment (`fleet`, which sets ports and tokens
    /// itself).
    pub fn from_env_for(service: ServiceSettings) -> anyhow::Result<Self> {
        Ok(Self {
            verify_rate: Rate::from_env("LIMIT_VERIFY_PER_MINUTE", VERIFY_RATE)?,
            batching: BulkSubscribe::from_env(50)?,
            ..Self::new(service)
        })
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Token verification for the user-facing API.
    pub verifier: Arc<JwtVerifier>,
    /// Per-user budget of chain verifications (each reads and hashes the whole chain).
    pub verify_limit: Arc<UserLimit>,
    /// Retries of parked deliveries (their internal routes are mounted by [`router`]).
    pub dead_letters: DeadLetters<Journal>,
    /// Readiness and the app token.
    pub ops: Ops,
    /// See [`Settings::batching`].
    pub batching: Option<BulkSubscribe>,
}

/// `GET /api/audit/verify` per user: `LIMIT_VERIFY_PER_MINUTE`.
pub const VERIFY_RATE: Rate = Rate {
    per_minute: 30,
    burst: 10,
};

/// The chain-verification budget, for [`common::limits::Limited`].
pub enum Verifications {}

impl LimitOf<AppState> for Verifications {
    fn limit(state: &AppState) -> &UserLimit {
        &state.verify_limit
    }
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The whole service (without the standard layers, which [`Server::bind`] adds). Deliveries,
/// dead letters and `/dapr/subscribe` sit behind the app token; the audit API behind the
/// user's JWT.
pub fn router(state: AppState) -> Router {
    let internal = subscribe_route(crate::subscriptions::subscriptions(state.batching))
        .merge(crate::subscriptions::delivery_routes().with_state(state.clone()))
        .merge(
            state
                .dead_letters
                .routes(&crate::subscriptions::INBOX_TOPICS),
        );
    let docs = common::openapi::route(<crate::routes::ApiDoc as utoipa::OpenApi>::openapi());
    let ops = state.ops.clone();
    ops.assemble(crate::routes::router().with_state(state), internal, docs)
}

/// Connects (lazily: the service starts and answers `/healthz` while Postgres is still coming
/// up, and deliveries answer `RETRY` until it is there) and binds the port.
pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let Settings {
        service,
        verify_rate,
        retry,
        batching,
    } = settings;
    let pool = common::db::connect_lazy(&service.database_url, service.database_max_connections)?;
    let (verifier, erased) = common::erased::verifier(&service.auth);
    let verify_limit = UserLimit::new("verifications", verify_rate);
    let dead_letters = DeadLetters::new(pool.clone(), SERVICE, Journal(pool.clone()), retry);
    let state = AppState {
        pool: pool.clone(),
        verifier,
        verify_limit: verify_limit.clone(),
        dead_letters: dead_letters.clone(),
        ops: Ops::new(&service, Some(pool.clone())),
        batching,
    };
    let server = Server::bind(service.address(), router(state), SERVICE).await?;
    tracing::info!(port = server.port(), "audit listening");
    Ok(Service::new(server)
        .with_background(move |shutdown| {
            common::limits::forget_idle_periodically(vec![verify_limit], shutdown)
        })
        .with_background(move |shutdown| dead_letters.run(shutdown))
        .with_background(move |shutdown| erased.watch(pool, shutdown)))
}
