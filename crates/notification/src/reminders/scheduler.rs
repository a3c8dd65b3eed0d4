//! The exact-time loop every replica runs.
//!
//! Each pass claims what is due now and asks for the next pending reminder time, then sleeps
//! until that time, a NOTIFY on [`CHANNEL`], or the poll interval — whichever comes first. A
//! trigger on `tasks` NOTIFYs that channel when a write that plans a reminder (a pending task's
//! new or moved reminder, or a task with one reopened) commits, so the sleep is rescheduled at
//! once; a reminder moved later or cancelled needs no wake-up (the loop wakes at the old time,
//! finds nothing due and sleeps again), and writes without a reminder notify nothing, since a
//! notifying commit serialises with every other one in Postgres. The poll only bounds the
//! damage of a lost NOTIFY or a dropped listener. A burst of writes costs one pass per
//! `min_gap`, not one per write. Replicas need no coordination: they all wake at the due time
//! and the claim lets exactly one of them fire each reminder.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::CancellationToken;
use common::clock::Clock;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::time::Instant;

use super::claim::{ClaimSettings, claim_due_reminders, next_reminder_at};

/// The channel the `tasks` trigger notifies when a reminder is planned
/// (migrations/20261202000013_reminder_notify.sql).
pub const CHANNEL: &str = "reminders";

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

/// What the loop needs from the database. Apart from the loop so its timing can be tested in
/// tokio's paused time, which real sockets cannot take part in; [`Postgres`] is the one
/// implementation the service runs.
pub trait ReminderStore: Send + Sync + 'static {
    /// Told of every planned reminder.
    type Listener: Send;

    /// Fires every reminder due at `now`.
    fn claim_due(&self, now: DateTime<Utc>) -> impl Future<Output = sqlx::Result<()>> + Send;

    /// The earliest pending reminder after `now`.
    fn next_at(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = sqlx::Result<Option<DateTime<Utc>>>> + Send;

    /// Starts listening for planned reminders; `None` when it cannot (the loop then polls).
    fn listen(&self) -> impl Future<Output = Option<Self::Listener>> + Send;

    /// Waits for the next planned reminder; an error means the listener is lost.
    fn changed(listener: &mut Self::Listener) -> impl Future<Output = sqlx::Result<()>> + Send;
}

/// The `tasks` table, told of planned reminders by its trigger's NOTIFY.
pub struct Postgres {
    /// The database.
    pub pool: PgPool,
    /// How reminders are claimed.
    pub claim: ClaimSettings,
}

impl ReminderStore for Postgres {
    type Listener = PgListener;

    async fn claim_due(&self, now: DateTime<Utc>) -> sqlx::Result<()> {
        claim_due_reminders(&self.pool, now, &self.claim)
            .await
            .map(|_| ())
    }

    async fn next_at(&self, now: DateTime<Utc>) -> sqlx::Result<Option<DateTime<Utc>>> {
        next_reminder_at(&self.pool, now).await
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "reminder listener unavailable; polling only");
                return None;
            }
        };
        match listener.listen(CHANNEL).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "reminder listen failed; polling only");
                None
            }
        }
    }

    async fn changed(listener: &mut PgListener) -> sqlx::Result<()> {
        listener.recv().await.map(|_| ())
    }
}

/// Fires the reminders of `store` at their time, by `clock`, until `shutdown` is cancelled.
pub async fn run_scheduler<S: ReminderStore>(
    store: S,
    clock: Clock,
    settings: SchedulerSettings,
    shutdown: CancellationToken,
) {
    let mut listener: Option<S::Listener> = None;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        // Listen before the pass: a write committed during the pass then still wakes us.
        if listener.is_none() {
            listener = store.listen().await;
        }
        let started = Instant::now();
        let wake_at = match pass(&store, &clock).await {
            Ok(Some(until_next)) => started + until_next.min(settings.poll_interval),
            Ok(None) => started + settings.poll_interval,
            Err(error) => {
                tracing::warn!(%error, "reminder pass failed; retrying");
                started + settings.error_backoff
            }
        };
        wait::<S>(
            &mut listener,
            wake_at,
            started + settings.min_gap,
            &shutdown,
        )
        .await;
    }
}

/// Claims what is due and returns how long until the next pending reminder.
async fn pass<S: ReminderStore>(store: &S, clock: &Clock) -> sqlx::Result<Option<Duration>> {
    let now = clock();
    store.claim_due(now).await?;
    let next = store.next_at(now).await?;
    // Already passed (it became due during the claim): go again at once.
    Ok(next.map(|at| (at - clock()).to_std().unwrap_or(Duration::ZERO)))
}

/// Sleeps until `wake_at`, or until `earliest` (or later) once a write is told.
async fn wait<S: ReminderStore>(
    listener: &mut Option<S::Listener>,
    wake_at: Instant,
    earliest: Instant,
    shutdown: &CancellationToken,
) {
    let mut deadline = wake_at;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            () = shutdown.cancelled() => return,
            received = next_change::<S>(listener) => {
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

async fn next_change<S: ReminderStore>(listener: &mut Option<S::Listener>) -> sqlx::Result<()> {
    match listener {
        Some(listener) => S::changed(listener).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
