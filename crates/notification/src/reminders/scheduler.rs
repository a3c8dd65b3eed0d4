//! The exact-time loop every replica runs.
//!
//! Each pass claims what is due now and asks for the next pending reminder time, then sleeps
//! until that time, a NOTIFY on the outbox channel, or the poll interval — whichever comes
//! first. Every task write NOTIFYs that channel when it commits, so a new, moved or cancelled
//! reminder reschedules the sleep at once; the poll only bounds the damage of a lost NOTIFY or
//! a dropped listener. A burst of writes costs one pass per `min_gap`, not one per write.
//! Replicas need no coordination: they all wake at the due time and the claim lets exactly one
//! of them fire each reminder.

use std::time::Duration;

use chrono::Utc;
use common::CancellationToken;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::time::Instant;

use super::claim::{ClaimSettings, claim_due_reminders, next_reminder_at};

/// How the loop paces itself.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Longest sleep between passes, whatever the next reminder time.
    pub poll_interval: Duration,
    /// Shortest time between two passes woken by NOTIFY.
    pub min_gap: Duration,
    /// Sleep after a failed pass (database down) before trying again.
    pub error_backoff: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            min_gap: Duration::from_millis(50),
            error_backoff: Duration::from_secs(1),
        }
    }
}

/// Fires reminders at their time until `shutdown` is cancelled.
pub async fn run_scheduler(
    pool: PgPool,
    claim: ClaimSettings,
    settings: SchedulerSettings,
    shutdown: CancellationToken,
) {
    let mut listener: Option<PgListener> = None;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        // Listen before the pass: a write committed during the pass then still wakes us.
        if listener.is_none() {
            listener = listen(&pool).await;
        }
        let started = Instant::now();
        let wake_at = match pass(&pool, &claim).await {
            Ok(Some(until_next)) => started + until_next.min(settings.poll_interval),
            Ok(None) => started + settings.poll_interval,
            Err(error) => {
                tracing::warn!(%error, "reminder pass failed; retrying");
                started + settings.error_backoff
            }
        };
        wait(
            &mut listener,
            wake_at,
            started + settings.min_gap,
            &shutdown,
        )
        .await;
    }
}

/// Claims what is due and returns how long until the next pending reminder.
async fn pass(pool: &PgPool, claim: &ClaimSettings) -> sqlx::Result<Option<Duration>> {
    let now = Utc::now();
    claim_due_reminders(pool, now, claim).await?;
    let next = next_reminder_at(pool, now).await?;
    // Already passed (it became due during the claim): go again at once.
    Ok(next.map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)))
}

/// Sleeps until `wake_at`, or until `earliest` (or later) once a NOTIFY arrives.
async fn wait(
    listener: &mut Option<PgListener>,
    wake_at: Instant,
    earliest: Instant,
    shutdown: &CancellationToken,
) {
    let mut deadline = wake_at;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            () = shutdown.cancelled() => return,
            received = next_notification(listener) => {
                if let Err(error) = received {
                    tracing::warn!(%error, "reminder listener lost; polling until it is back");
                    *listener = None;
                }
                // A lost listener may have missed writes: treat it like a NOTIFY.
                deadline = deadline.min(earliest.max(Instant::now()));
            }
        }
    }
}

async fn next_notification(listener: &mut Option<PgListener>) -> sqlx::Result<()> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "reminder listener unavailable; polling only");
            return None;
        }
    };
    match listener.listen(common::outbox::CHANNEL).await {
        Ok(()) => Some(listener),
        Err(error) => {
            tracing::warn!(%error, "reminder listen failed; polling only");
            None
        }
    }
}
