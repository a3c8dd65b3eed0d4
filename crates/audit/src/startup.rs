//! Wiring: state, router and server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::dapr::DaprClient;
use common::server::{Readiness, Server, Service, ops_routes, require_app_token, subscribe_route};
use sqlx::PgPool;

use crate::SERVICE;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Token verification for the user-facing API.
    pub verifier: Arc<JwtVerifier>,
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The whole service (without the standard layers, which [`Server::bind`] adds). Deliveries and
/// `/dapr/subscribe` sit behind the app token; the audit API behind the user's JWT.
pub fn router(state: AppState, readiness: Readiness, app_api_token: Option<String>) -> Router {
    let internal = subscribe_route(crate::subscriptions::subscriptions())
        .merge(crate::subscriptions::delivery_routes().with_state(state.clone()));
    Router::new()
        .merge(crate::routes::router().with_state(state))
        .merge(ops_routes(readiness))
        .merge(require_app_token(internal, app_api_token))
}

/// Connects (lazily: the service starts and answers `/healthz` while Postgres is still coming
/// up, and deliveries answer `RETRY` until it is there) and binds the port.
pub async fn build(settings: &ServiceSettings) -> anyhow::Result<Service> {
    let pool = common::db::connect_lazy(&settings.database_url, settings.database_max_connections)?;
    let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
    let state = AppState {
        pool: pool.clone(),
        verifier: Arc::new(JwtVerifier::new(&settings.auth)),
    };
    let readiness = Readiness { pool, dapr };
    let server = Server::bind(
        SocketAddr::new(settings.host, settings.port),
        router(state, readiness, settings.app_api_token.clone()),
        SERVICE,
    )
    .await?;
    tracing::info!(port = server.port(), "audit listening");
    Ok(Service::new(server))
}
