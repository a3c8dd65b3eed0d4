//! Wiring: state, router, server, the outbox relay, the assistant and `/mcp`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use chrono::{DateTime, Utc};
use common::CancellationToken;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::dapr::DaprClient;
use common::outbox::{OutboxRelay, RelaySettings};
use common::server::{Readiness, Server, Service, ops_routes, require_app_token, subscribe_route};
use sqlx::PgPool;

use crate::assistant::{Assistant, AssistantSettings};
use crate::limits::ApiLimits;
use crate::mcp::McpSettings;

/// The service name: app-id, binary, CloudEvent `source`.
pub const SERVICE: &str = "backend-api";
/// The app port of docs/contract.md §2.
pub const PORT: u16 = 8000;

/// "Now", injectable so date phrases can be tested at a fixed instant.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Token verification.
    pub verifier: Arc<JwtVerifier>,
    /// "Now" for quick-add and the assistant's date phrases.
    pub clock: Clock,
    /// The assistant, when a provider key is configured.
    pub assistant: Option<Arc<Assistant>>,
    /// Per-user budgets (writes, parse, `/mcp`).
    pub limits: ApiLimits,
}

/// What [`build_with_options`] takes beyond the service settings.
#[derive(Clone)]
pub struct BuildOptions {
    /// Outbox relay pacing.
    pub relay: RelaySettings,
    /// The assistant's provider and limits (disabled without a key).
    pub assistant: AssistantSettings,
    /// "Now".
    pub clock: Clock,
    /// The `/mcp` endpoint.
    pub mcp: McpSettings,
    /// Per-user budgets.
    pub limits: ApiLimits,
}

impl Default for BuildOptions {
    /// Default relay, assistant off, system clock, `/mcp` at `http://localhost:8000/mcp`.
    fn default() -> Self {
        Self {
            relay: RelaySettings::default(),
            assistant: AssistantSettings::default(),
            clock: system_clock(),
            mcp: McpSettings::for_url(&format!("http://localhost:{PORT}/mcp"))
                .expect("the default MCP URL is valid"),
            limits: ApiLimits::default(),
        }
    }
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The whole API (without the standard layers, which [`Server::bind`] adds).
pub fn router(
    state: AppState,
    readiness: Readiness,
    app_api_token: Option<String>,
    mcp: McpSettings,
    confirmation_ttl: Duration,
) -> Router {
    Router::new()
        .merge(crate::routes::tasks::router())
        .merge(crate::routes::tags::router())
        .merge(crate::routes::agent_tokens::router())
        .merge(crate::assistant::routes::router())
        .merge(crate::mcp::router(&state, Arc::new(mcp), confirmation_ttl))
        .with_state(state)
        .merge(crate::docs::router())
        .merge(ops_routes(readiness))
        .merge(require_app_token(
            subscribe_route(Vec::new()),
            app_api_token,
        ))
}

/// Connects (lazily) to Postgres, binds the port and prepares the outbox relay and the
/// idempotency-key janitor.
pub async fn build(settings: ServiceSettings) -> anyhow::Result<Service> {
    let pool = common::db::connect_lazy(&settings.database_url, settings.database_max_connections)?;
    build_with_pool(settings, pool, RelaySettings::default()).await
}

/// Like [`build`] with an existing pool and relay pacing (tests, `fleet`); the assistant's
/// settings come from the environment (`ASSISTANT_*`).
pub async fn build_with_pool(
    settings: ServiceSettings,
    pool: PgPool,
    relay: RelaySettings,
) -> anyhow::Result<Service> {
    let assistant = AssistantSettings::from_env()?;
    let mcp = McpSettings::from_env(settings.port)?;
    let options = BuildOptions {
        relay,
        assistant,
        clock: system_clock(),
        mcp,
        limits: ApiLimits::from_env()?,
    };
    build_with_options(settings, pool, options).await
}

/// Like [`build_with_pool`] with every option explicit (tests of the assistant).
pub async fn build_with_options(
    settings: ServiceSettings,
    pool: PgPool,
    options: BuildOptions,
) -> anyhow::Result<Service> {
    let BuildOptions {
        relay,
        assistant,
        clock,
        mcp,
        limits,
    } = options;
    if assistant.enabled() {
        tracing::info!(model = %assistant.model, base_url = %assistant.base_url, "assistant enabled");
    }
    let dapr = DaprClient::new(settings.dapr_http_port, settings.dapr_api_token.clone());
    let confirmation_ttl = assistant.confirmation_ttl;
    let state = AppState {
        pool: pool.clone(),
        verifier: Arc::new(JwtVerifier::new(&settings.auth)),
        clock,
        assistant: Assistant::from_settings(assistant)?.map(Arc::new),
        limits: limits.clone(),
    };
    let readiness = Readiness {
        pool: Some(pool.clone()),
        dapr: dapr.clone(),
    };
    let addr = SocketAddr::new(settings.host, settings.port);
    let server = Server::bind(
        addr,
        router(
            state,
            readiness,
            settings.app_api_token.clone(),
            mcp,
            confirmation_ttl,
        ),
        SERVICE,
    )
    .await?;
    tracing::info!(port = server.port(), "backend-api listening");
    let relay = OutboxRelay::new(pool.clone(), dapr.clone(), relay);
    Ok(Service::new(server)
        // Requests are served meanwhile; their events wait in the outbox.
        .with_background(move |shutdown| relay.run_when_sidecar_ready(shutdown))
        .with_background(move |shutdown| prune_periodically(pool, shutdown))
        .with_background(move |shutdown| {
            common::limits::forget_idle_periodically(limits.all(), shutdown)
        }))
}

async fn prune_periodically(pool: PgPool, shutdown: CancellationToken) {
    use crate::tasks::{IDEMPOTENCY_KEY_RETENTION, prune_idempotency_keys};
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match prune_idempotency_keys(&pool, IDEMPOTENCY_KEY_RETENTION).await {
            Ok(removed) if removed > 0 => tracing::info!(removed, "pruned idempotency keys"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "idempotency key pruning failed"),
        }
    }
}
