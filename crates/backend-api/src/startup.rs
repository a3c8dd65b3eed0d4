//! Wiring: state, router, server, the outbox relay, the assistant and `/mcp`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use common::CancellationToken;
use common::auth::JwtVerifier;
use common::config::ServiceSettings;
use common::erased::ErasedAccounts;
use common::outbox::{OutboxRelay, RelaySettings};
use common::server::{Ops, Server, Service, subscribe_route};
use sqlx::PgPool;

use crate::assistant::{Assistant, AssistantSettings};
use crate::calendar::CalendarSettings;
use crate::limits::ApiLimits;
use crate::mcp::McpSettings;
use crate::tasks::Creates;

/// The service name: app-id, binary, CloudEvent `source`.
pub const SERVICE: &str = "backend-api";
/// The app port of docs/contract.md §2.
pub const PORT: u16 = 8000;

pub use common::clock::{Clock, system_clock};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// The writers of creates without an idempotency key.
    pub creates: Creates,
    /// Token verification.
    pub verifier: Arc<JwtVerifier>,
    /// The deleted accounts, whose tokens the verifier refuses (told of an erasure here at once).
    pub erased: Arc<ErasedAccounts>,
    /// "Now" for quick-add and the assistant's date phrases.
    pub clock: Clock,
    /// The assistant, when a provider key is configured.
    pub assistant: Option<Arc<Assistant>>,
    /// Per-user budgets (writes, parse, `/mcp`).
    pub limits: ApiLimits,
    /// Where `/mcp` is and who may reach it.
    pub mcp: Arc<McpSettings>,
    /// Where the calendar feed is (its tokens' audience).
    pub calendar: Arc<CalendarSettings>,
    /// How long a card drawn over `/mcp` stays decidable (the assistant's setting).
    pub confirmation_ttl: Duration,
    /// Readiness and the app token.
    pub ops: Ops,
}

/// Everything the service reads at start.
#[derive(Clone)]
pub struct Settings {
    /// Port, sidecar, database, tokens.
    pub service: ServiceSettings,
    /// Outbox relay pacing.
    pub relay: RelaySettings,
    /// The assistant's provider and limits (off without a key).
    pub assistant: AssistantSettings,
    /// The `/mcp` endpoint.
    pub mcp: McpSettings,
    /// The calendar feed.
    pub calendar: CalendarSettings,
    /// Per-user budgets.
    pub limits: ApiLimits,
    /// "Now" (the system clock; tests fix it).
    pub clock: Clock,
}

impl Settings {
    /// `service` with the defaults for the rest: default relay, assistant off, `/mcp` at
    /// `http://localhost:<port>/mcp`, default budgets, the system clock. Nothing is read from
    /// the environment (tests stay apart from the developer's `ASSISTANT_*`).
    pub fn new(service: ServiceSettings) -> Self {
        Self {
            service,
            relay: RelaySettings::default(),
            assistant: AssistantSettings::default(),
            mcp: McpSettings::for_url(&format!("http://localhost:{PORT}/mcp"))
                .expect("the default MCP URL is valid"),
            calendar: CalendarSettings::for_url(&format!(
                "http://localhost:{PORT}{}",
                crate::calendar::PATH
            ))
            .expect("the default calendar URL is valid"),
            limits: ApiLimits::default(),
            clock: system_clock(),
        }
    }

    /// Everything from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_env_for(ServiceSettings::from_env(PORT)?)
    }

    /// `service`, and the rest from the environment: `ASSISTANT_*`, `MCP_*`, `CALENDAR_URL`,
    /// `LIMIT_*` (`fleet`, which sets ports and tokens itself).
    pub fn from_env_for(service: ServiceSettings) -> anyhow::Result<Self> {
        let mcp = McpSettings::from_env(service.port)?;
        let calendar = CalendarSettings::from_env(service.port)?;
        Ok(Self {
            assistant: AssistantSettings::from_env()?,
            mcp,
            calendar,
            limits: ApiLimits::from_env()?,
            ..Self::new(service)
        })
    }
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The whole API (without the standard layers, which [`Server::bind`] adds).
pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .merge(crate::routes::tasks::router())
        .merge(crate::routes::tags::router())
        .merge(crate::routes::views::router())
        .merge(crate::routes::agent_tokens::router())
        .merge(crate::calendar::router())
        .merge(crate::transfer::router())
        .merge(crate::account::router())
        .merge(crate::assistant::routes::router())
        .merge(crate::mcp::router(&state))
        .with_state(state.clone());
    // backend-api subscribes to nothing; `/dapr/subscribe` still answers daprd (with `[]`).
    state
        .ops
        .assemble(public, subscribe_route(Vec::new()), crate::docs::router())
}

/// Connects (lazily) to Postgres, binds the port and prepares the outbox relay and the
/// idempotency-key janitor.
pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let Settings {
        service,
        relay,
        assistant,
        mcp,
        calendar,
        limits,
        clock,
    } = settings;
    if assistant.enabled() {
        tracing::info!(model = %assistant.model, base_url = %assistant.base_url, "assistant enabled");
    }
    let pool = common::db::connect_lazy(&service.database_url, service.database_max_connections)?;
    let (verifier, erased) = common::erased::verifier(&service.auth);
    let state = AppState {
        pool: pool.clone(),
        creates: Creates::start(pool.clone()),
        verifier,
        erased: erased.clone(),
        clock,
        confirmation_ttl: assistant.confirmation_ttl,
        assistant: Assistant::from_settings(assistant)?.map(Arc::new),
        limits: limits.clone(),
        mcp: Arc::new(mcp),
        calendar: Arc::new(calendar),
        ops: Ops::new(&service, Some(pool.clone())),
    };
    let relay = OutboxRelay::new(pool.clone(), state.ops.dapr().clone(), relay);
    let server = Server::bind(service.address(), router(state), SERVICE).await?;
    tracing::info!(port = server.port(), "backend-api listening");
    Ok(Service::new(server)
        // Requests are served meanwhile; their events wait in the outbox.
        .with_background(move |shutdown| relay.run_when_sidecar_ready(shutdown))
        .with_background({
            let pool = pool.clone();
            move |shutdown| erased.watch(pool, shutdown)
        })
        .with_background(move |shutdown| prune_periodically(pool, shutdown))
        .with_background(move |shutdown| {
            common::limits::forget_idle_periodically(limits.all(), shutdown)
        }))
}

async fn prune_periodically(pool: PgPool, shutdown: CancellationToken) {
    use crate::tasks::{IDEMPOTENCY_KEY_RETENTION, prune_idempotency_keys};
    // The first pass an hour after the start, not at it: a restart loop does not turn into a
    // pruning loop (and tests that prune by hand do not race a pass of their own service).
    let period = Duration::from_secs(3600);
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
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
        match crate::account::sweep_erased(&pool).await {
            Ok(removed) if removed > 0 => {
                tracing::info!(removed, "removed rows written for erased accounts");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sweeping erased accounts failed"),
        }
        match crate::tasks::trash::purge(&pool).await {
            Ok(removed) if removed > 0 => tracing::info!(removed, "purged the trash past 30 days"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "trash purge failed"),
        }
    }
}
