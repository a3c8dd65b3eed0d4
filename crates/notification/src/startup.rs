//! Wiring: state, router, server, and the background loops (reminder scheduler, outbox relay,
//! dead-letter retries).

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use common::auth::JwtVerifier;
use common::clock::{Clock, system_clock};
use common::config::ServiceSettings;
use common::dead_letters::{DeadLetters, RetrySettings};
use common::outbox::{OutboxRelay, RelaySettings};
use common::server::{Ops, Server, Service};
use sqlx::PgPool;

use crate::push::{Push, PushSettings};
use crate::reminders::{ClaimSettings, Postgres, SchedulerSettings, run_scheduler};
use crate::subscriptions::Consumers;
use crate::{PORT, SERVICE};

/// Everything the service reads at start.
#[derive(Clone)]
pub struct Settings {
    /// Port, sidecar, database, tokens.
    pub service: ServiceSettings,
    /// Outbox relay pacing (the `reminder.due` events).
    pub relay: RelaySettings,
    /// How reminders are claimed (shared by the loop and the cron route).
    pub claim: ClaimSettings,
    /// The exact-time loop; `None` leaves firing to the cron route alone (tests).
    pub scheduler: Option<SchedulerSettings>,
    /// "Now" for the loop and the cron route.
    pub clock: Clock,
    /// Pacing of dead-letter retries.
    pub retry: RetrySettings,
    /// Web Push (`VAPID_PRIVATE_KEY`, …): off without a key.
    pub push: PushSettings,
}

impl Settings {
    /// `service` with the defaults for the rest: the exact-time loop on.
    pub fn new(service: ServiceSettings) -> Self {
        Self {
            service,
            relay: RelaySettings::default(),
            claim: ClaimSettings::default(),
            scheduler: Some(SchedulerSettings::default()),
            clock: system_clock(),
            retry: RetrySettings::default(),
            push: PushSettings::default(),
        }
    }

    /// Everything from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            push: PushSettings::from_env()?,
            ..Self::new(ServiceSettings::from_env(PORT)?)
        })
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Postgres.
    pub pool: PgPool,
    /// Token verification.
    pub verifier: Arc<JwtVerifier>,
    /// How the cron route claims.
    pub claim: ClaimSettings,
    /// "Now" for the cron route's claim.
    pub clock: Clock,
    /// Retries of parked deliveries.
    pub dead_letters: DeadLetters<Consumers>,
    /// Web Push.
    pub push: Arc<Push>,
    /// Readiness and the app token.
    pub ops: Ops,
}

impl FromRef<AppState> for Arc<JwtVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The whole service (without the standard layers): the notifications API behind the user's
/// JWT; deliveries, dead letters, the cron route and `/dapr/subscribe` behind the app token.
pub fn router(state: AppState) -> Router {
    let consumers = Consumers {
        pool: state.pool.clone(),
        push: state.push.clone(),
    };
    let internal = crate::subscriptions::routes(consumers, &state.dead_letters)
        .merge(crate::routes::cron::router(state.clone()));
    let docs = common::openapi::route(
        <crate::routes::notifications::ApiDoc as utoipa::OpenApi>::openapi(),
    );
    let ops = state.ops.clone();
    ops.assemble(
        crate::routes::notifications::router().with_state(state),
        internal,
        docs,
    )
}

/// Connects lazily, binds the port and prepares the reminder loop and the outbox relay.
pub async fn build(settings: Settings) -> anyhow::Result<Service> {
    let Settings {
        service,
        relay,
        claim,
        scheduler,
        clock,
        retry,
        push,
    } = settings;
    let pool = common::db::connect_lazy(&service.database_url, service.database_max_connections)?;
    let (verifier, erased) = common::erased::verifier(&service.auth);
    if push.key.is_none() {
        tracing::info!("no VAPID_PRIVATE_KEY: reminders reach open tabs only (no Web Push)");
    }
    let push = Arc::new(Push::new(push));
    let consumers = Consumers {
        pool: pool.clone(),
        push: push.clone(),
    };
    let dead_letters = DeadLetters::new(pool.clone(), SERVICE, consumers, retry);
    let state = AppState {
        pool: pool.clone(),
        dead_letters: dead_letters.clone(),
        push,
        verifier,
        claim: claim.clone(),
        clock: clock.clone(),
        ops: Ops::new(&service, Some(pool.clone())),
    };
    let relay = OutboxRelay::new(pool.clone(), state.ops.dapr().clone(), relay);
    let server = Server::bind(service.address(), router(state), SERVICE).await?;
    tracing::info!(port = server.port(), "notification listening");
    let pushed = pool.clone();
    let mut service = Service::new(server)
        // Reminders fire meanwhile; their events wait in the outbox.
        .with_background(move |shutdown| relay.run_when_sidecar_ready(shutdown))
        .with_background(move |shutdown| dead_letters.run(shutdown))
        .with_background({
            let pool = pool.clone();
            move |shutdown| erased.watch(pool, shutdown)
        })
        // The records of reminders pushed (crate::push::send) are bounded like recurring's.
        .with_background(move |shutdown| {
            common::idempotency::forget_processed_periodically(
                pushed,
                crate::push::send::CONSUMER,
                common::idempotency::PROCESSED_RETENTION,
                shutdown,
            )
        });
    if let Some(scheduler) = scheduler {
        service = service.with_background(move |shutdown| {
            run_scheduler(Postgres { pool, claim }, clock, scheduler, shutdown)
        });
    }
    Ok(service)
}
