//! Wiring: the router, the server and the outbox relay that publishes `task-created`.

use std::net::SocketAddr;

use common::config::ServiceSettings;
use common::dapr::DaprClient;
use common::dead_letters::{DeadLetters, RetrySettings};
use common::outbox::{OutboxRelay, RelaySettings};
use common::server::{Readiness, Server, Service, ops_routes};
use sqlx::PgPool;

use crate::SERVICE;
use crate::subscriptions::Occurrences;

/// Connects (lazily) to Postgres, binds the port and prepares the outbox relay.
pub async fn build(settings: &ServiceSettings) -> anyhow::Result<Service> {
    let pool = common::db::connect_lazy(&settings.database_url, settings.database_max_connections)?;
    build_with_pool(settings, pool, RelaySettings::default()).await
}

/// Like [`build`] with an existing pool and relay pacing (tests).
pub async fn build_with_pool(
    settings: &ServiceSettings,
    pool: PgPool,
    relay: RelaySettings,
) -> anyhow::Result<Service> {
    let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
    let readiness = Readiness {
        pool: Some(pool.clone()),
        dapr: dapr.clone(),
    };
    let dead_letters = DeadLetters::new(
        pool.clone(),
        SERVICE,
        Occurrences(pool.clone()),
        RetrySettings::default(),
    );
    let router = ops_routes(readiness).merge(crate::subscriptions::router(
        pool.clone(),
        &dead_letters,
        settings.app_api_token.clone(),
    ));
    let server = Server::bind(
        SocketAddr::new(settings.host, settings.port),
        router,
        SERVICE,
    )
    .await?;
    tracing::info!(port = server.port(), "recurring listening");
    let relay = OutboxRelay::new(pool.clone(), dapr.clone(), relay);
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
