//! Wiring: state, router and server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::dapr::DaprClient;
use common::dead_letters::{DeadLetters, RetrySettings};
use common::events::topics;
use common::limits::{LimitOf, Rate, UserLimit};
use common::server::{Readiness, Server, Service, ops_routes, require_app_token, subscribe_route};
use sqlx::PgPool;

use crate::SERVICE;
use crate::subscriptions::Journal;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Token verification for the user-facing API.
    pub verifier: Arc<JwtVerifier>,
    /// Per-user budget of chain verifications (each reads and hashes the whole chain).
    pub verify_limit: Arc<UserLimit>,
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
pub fn router(
    state: AppState,
    readiness: Readiness,
    dead_letters: &DeadLetters<Journal>,
    app_api_token: Option<String>,
) -> Router {
    let internal = subscribe_route(crate::subscriptions::subscriptions())
        .merge(crate::subscriptions::delivery_routes().with_state(state.clone()))
        .merge(dead_letters.routes(&topics::TASK_TOPICS));
    Router::new()
        .merge(crate::routes::router().with_state(state))
        .merge(common::openapi::route(
            <crate::routes::ApiDoc as utoipa::OpenApi>::openapi(),
        ))
        .merge(ops_routes(readiness))
        .merge(require_app_token(internal, app_api_token))
}

/// Connects (lazily: the service starts and answers `/healthz` while Postgres is still coming
/// up, and deliveries answer `RETRY` until it is there) and binds the port.
pub async fn build(settings: &ServiceSettings) -> anyhow::Result<Service> {
    let pool = common::db::connect_lazy(&settings.database_url, settings.database_max_connections)?;
    let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
    let verify_limit = UserLimit::new(
        "verifications",
        Rate::from_env("LIMIT_VERIFY_PER_MINUTE", VERIFY_RATE)?,
    );
    let state = AppState {
        pool: pool.clone(),
        verifier: Arc::new(JwtVerifier::new(&settings.auth)),
        verify_limit: verify_limit.clone(),
    };
    let dead_letters = DeadLetters::new(
        pool.clone(),
        SERVICE,
        Journal(pool.clone()),
        RetrySettings::default(),
    );
    let readiness = Readiness {
        pool: Some(pool),
        dapr,
    };
    let server = Server::bind(
        SocketAddr::new(settings.host, settings.port),
        router(
            state,
            readiness,
            &dead_letters,
            settings.app_api_token.clone(),
        ),
        SERVICE,
    )
    .await?;
    tracing::info!(port = server.port(), "audit listening");
    Ok(Service::new(server)
        .with_background(move |shutdown| {
            common::limits::forget_idle_periodically(vec![verify_limit], shutdown)
        })
        .with_background(move |shutdown| dead_letters.run(shutdown)))
}
