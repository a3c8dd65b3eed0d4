//! The transactional outbox (docs/contract.md §6 "No lost events"). A writer calls [`enqueue`]
//! inside the transaction that changes a task, so the change and its event commit or vanish
//! together. The [`OutboxRelay`] publishes committed rows through the sidecar and marks them
//! published:
//!
//! * it wakes at once on `NOTIFY outbox` (sent by [`enqueue`], delivered on commit) and polls as
//!   a fallback, so a lost notification only delays, never loses;
//! * **a user's events go out in commit order, one relay at a time**: a pass leases, per
//!   partition key (user), the key's oldest pending row and up to [`RelaySettings::run_length`]
//!   rows after it — only when that oldest row is free — and publishes them in id order,
//!   stopping at the first failure. A later row of a user is therefore never claimed while an
//!   earlier one is pending, whichever of the relays (backend-api, recurring and notification
//!   each run one, on every replica) looks. Different users are published concurrently;
//! * **no transaction spans a publish**: the lease is a short update (`leased_until`), the
//!   publishes happen outside any transaction, and the marks are another short update. A relay
//!   that dies mid-way leaves leases that expire; the rows are then published again with the
//!   same CloudEvent id (at-least-once; consumers deduplicate on it);
//! * **a refusal holds back only its own user**: a row the broker rejects for now (5xx) is
//!   retried with a backoff of its own (`next_attempt_at`) while other users' rows flow; a row
//!   the sidecar refuses for good (4xx: unknown component, scoping, size) is **parked** after
//!   [`RelaySettings::park_after`] attempts, with its reason, so the user's later events flow —
//!   an operator lists, replays or discards parked rows (`backend-api outbox ...`);
//! * while the sidecar itself is unreachable nothing is counted against the rows and the relay
//!   backs off as a whole;
//! * **the relay's bookkeeping commits without waiting for the disk** (`synchronous_commit =
//!   off` on the relay's own connections): a lease or a mark lost in a database crash only
//!   means the row is published again, which at-least-once delivery and the consumers'
//!   deduplication already cover. The writes that must survive (the task and its outbox row)
//!   still commit synchronously, in the writer's transaction. Without this every event cost
//!   three waits for the WAL flush instead of one (measured in docs/benchmarks.md).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use futures::FutureExt;
use futures::future::join_all;
use serde_json::Value;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::dapr::{DaprClient, DaprError};
use crate::events::{CloudEvent, PUBSUB, TaskEvent};

/// The Postgres notification channel the relay listens on.
pub const CHANNEL: &str = "outbox";

/// Writes `event` to the outbox as the CloudEvent `source` will publish, in the caller's
/// transaction, and asks the relay to wake when it commits.
#[tracing::instrument(skip_all, fields(event_id = %event.event_id, topic = event.event_type.topic()))]
pub async fn enqueue(
    conn: &mut PgConnection,
    source: &str,
    event: TaskEvent,
    traceparent: Option<String>,
) -> sqlx::Result<()> {
    let topic = event.event_type.topic();
    let partition_key = event.user_id.clone();
    let event_id = event.event_id;
    let envelope = CloudEvent::for_task_event(source, event, traceparent);
    let envelope = serde_json::to_value(&envelope).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    enqueue_envelope(conn, event_id, PUBSUB, topic, &partition_key, &envelope).await
}

/// Writes an already-built CloudEvent to the outbox (for events other than task events).
pub async fn enqueue_envelope(
    conn: &mut PgConnection,
    event_id: Uuid,
    pubsub: &str,
    topic: &str,
    partition_key: &str,
    envelope: &Value,
) -> sqlx::Result<()> {
    // One round trip: the insert and the wake-up call travel as one statement.
    sqlx::query(
        "WITH inserted AS (INSERT INTO outbox (event_id, pubsub, topic, partition_key, envelope) \
         VALUES ($1, $2, $3, $4, $5) RETURNING 1) SELECT pg_notify($6, '') FROM inserted",
    )
    .bind(event_id)
    .bind(pubsub)
    .bind(topic)
    .bind(partition_key)
    .bind(envelope)
    .bind(CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Rows claimed per transaction.
    pub batch_size: i64,
    /// Fallback poll when no notification arrives.
    pub poll_interval: Duration,
    /// First retry delay after a failed publish; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Published rows older than this are deleted.
    pub retention: Duration,
    /// Rows of one user leased and published back to back in a pass.
    pub run_length: i64,
    /// Rows leased per pass in all (the oldest users' runs first; the last run may be cut
    /// short, still a prefix): bounds the memory of a pass when a backlog builds up.
    pub max_rows: i64,
    /// How long a lease keeps other relays off the leased rows; longer than a pass can take.
    pub lease: Duration,
    /// Attempts after which a row the sidecar refuses for good is parked.
    pub park_after: i32,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 200,
            poll_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            retention: Duration::from_secs(7 * 24 * 3600),
            run_length: 50,
            max_rows: 1_000,
            lease: Duration::from_secs(60),
            park_after: 5,
        }
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    pubsub: String,
    topic: String,
    partition_key: String,
    /// The CloudEvent as stored, sent as is (never parsed here).
    envelope: String,
    traceparent: Option<String>,
    attempts: i32,
}

/// Leases the oldest pending row of up to `$1` users whose oldest row is free and due, and up
/// to `$2` rows after it per user. The oldest rows are locked first, in id order and with
/// `SKIP LOCKED`, and only the relay holding a user's oldest row leases that user's run: two
/// relays never lease rows of one user at once, and never wait on each other's rows (an
/// earlier version updated overlapping row sets in different orders and deadlocked under
/// load, each deadlock costing a second). A head updated by a relay that committed meanwhile
/// is re-checked under the lock, so a run is never leased twice. At most `$4` rows in all, the
/// oldest heads' runs first (a run cut short is still a prefix of its user's rows).
const LEASE_SQL: &str = "\
WITH heads AS (
    SELECT DISTINCT ON (partition_key) partition_key, id, leased_until, next_attempt_at
    FROM outbox
    WHERE published_at IS NULL AND parked_at IS NULL
    ORDER BY partition_key, id
), ready AS (
    SELECT id FROM heads
    WHERE (leased_until IS NULL OR leased_until < now())
      AND (next_attempt_at IS NULL OR next_attempt_at <= now())
    ORDER BY id
    LIMIT $1
), locked_heads AS (
    SELECT o.partition_key, o.id AS head_id FROM outbox o
    WHERE o.id IN (SELECT id FROM ready)
      AND o.published_at IS NULL AND o.parked_at IS NULL
      AND (o.leased_until IS NULL OR o.leased_until < now())
    ORDER BY o.id
    FOR UPDATE OF o SKIP LOCKED
), picked AS (
    SELECT run.id FROM locked_heads
    CROSS JOIN LATERAL (
        SELECT r.id FROM outbox r
        WHERE r.partition_key = locked_heads.partition_key
          AND r.published_at IS NULL AND r.parked_at IS NULL
        ORDER BY r.id
        LIMIT $2
    ) run
    ORDER BY locked_heads.head_id, run.id
    LIMIT $4
)
UPDATE outbox o SET leased_until = now() + make_interval(secs => $3)
FROM picked
WHERE o.id = picked.id
RETURNING o.id, o.pubsub, o.topic, o.partition_key, o.envelope::text AS envelope,
          o.envelope->>'traceparent' AS traceparent, o.attempts";

/// How a run of one user's rows ended.
#[derive(Default)]
struct RunResult {
    published: Vec<i64>,
    /// The row that failed, with the error; the rows after it were not tried.
    failed: Option<(i64, i32, DaprError)>,
    untried: Vec<i64>,
}

/// A parked outbox row, for operators.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ParkedRow {
    /// The row id (what `replay`/`discard` take).
    pub id: i64,
    /// The CloudEvent id.
    pub event_id: Uuid,
    pub topic: String,
    /// The user.
    pub partition_key: String,
    pub attempts: i32,
    /// The sidecar's last answer.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub parked_at: DateTime<Utc>,
}

/// What one pass of the relay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows claimed (leased).
    pub claimed: usize,
    /// Rows published and marked.
    pub published: usize,
    /// Rows parked in this pass.
    pub parked: usize,
    /// The sidecar could not be reached at all.
    pub sidecar_unreachable: bool,
}

/// Publishes committed outbox rows through the Dapr sidecar.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    /// The relay's own connections (lazy, at most [`RELAY_CONNECTIONS`]) to the database of
    /// the pool it was given, with `synchronous_commit = off` (see the module docs).
    pool: PgPool,
    dapr: DaprClient,
    settings: RelaySettings,
}

/// Connections of a relay's own pool: the listener holds one; the passes (and the hourly
/// prune) run their statements one after another on the other.
pub const RELAY_CONNECTIONS: u32 = 2;

impl OutboxRelay {
    /// A relay over the database of `pool` publishing through `dapr`.
    pub fn new(pool: PgPool, dapr: DaprClient, settings: RelaySettings) -> Self {
        // Index scans, never bitmap scans, on the relay's connections: an index scan marks the
        // entries of rows already published as dead as it passes them (btree's
        // kill_prior_tuple), so the next pass skips them; a bitmap scan never does, and the
        // pending-rows index fills with dead entries between two autovacuums (a minute or
        // more) that every pass then reads again. Measured on a 13 000-row run: the pending
        // heads took 0.74 ms a pass by bitmap scan, 0.13 ms by index scan.
        let options = (*pool.connect_options())
            .clone()
            .options([("synchronous_commit", "off"), ("enable_bitmapscan", "off")]);
        let pool = crate::db::pool_options(RELAY_CONNECTIONS).connect_lazy_with(options);
        Self {
            pool,
            dapr,
            settings,
        }
    }

    /// Waits until the sidecar's outbound side answers (docs/dapr-behaviour.md §8.2: the
    /// service serves meanwhile, and its events wait in the outbox), then [`Self::run`]s.
    pub async fn run_when_sidecar_ready(self, shutdown: CancellationToken) {
        let ready = async {
            while let Err(error) = self.dapr.wait_for_outbound(Duration::from_secs(30)).await {
                tracing::warn!(%error, "sidecar not ready yet; events stay in the outbox");
            }
        };
        tokio::select! {
            () = ready => self.run(shutdown).await,
            () = shutdown.cancelled() => {}
        }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = self.listen().await;
        let mut backoff = self.settings.initial_backoff;
        let mut last_prune = tokio::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            // Every commit notified so far is visible to the pass about to start: one pass
            // answers them all. Without this, a burst of N commits costs N passes, all but the
            // first finding nothing (on every relay: backend-api, notification, recurring).
            drain_notifications(&mut listener).await;
            match self.publish_batch().await {
                Ok(outcome) if outcome.sidecar_unreachable => {
                    // Nothing can go out until the sidecar answers: wait as a whole.
                    self.sleep_or_cancel(backoff, &shutdown).await;
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                    continue;
                }
                Ok(outcome) => {
                    backoff = self.settings.initial_backoff;
                    // Rows that failed are scheduled on their own; a row published or parked
                    // means there may be more right away (a parked row frees its user's next).
                    if outcome.published > 0 || outcome.parked > 0 {
                        continue;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "outbox relay pass failed");
                    self.sleep_or_cancel(backoff, &shutdown).await;
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                    continue;
                }
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = tokio::time::Instant::now();
                self.prune().await;
            }
            self.wait_for_work(&mut listener, &shutdown).await;
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "outbox listener unavailable, polling only");
                return None;
            }
        };
        match listener.listen(CHANNEL).await {
            Ok(()) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "outbox listen failed, polling only");
                None
            }
        }
    }

    async fn wait_for_work(&self, listener: &mut Option<PgListener>, shutdown: &CancellationToken) {
        let poll = tokio::time::sleep(self.settings.poll_interval);
        match listener {
            Some(l) => tokio::select! {
                received = l.recv() => {
                    if let Err(error) = received {
                        tracing::warn!(%error, "outbox listener lost, reconnecting");
                        *listener = self.listen().await;
                    }
                }
                () = poll => {}
                () = shutdown.cancelled() => {}
            },
            None => {
                tokio::select! {
                    () = poll => {}
                    () = shutdown.cancelled() => {}
                }
                *listener = self.listen().await;
            }
        }
    }

    async fn sleep_or_cancel(&self, delay: Duration, shutdown: &CancellationToken) {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => {}
        }
    }

    /// Leases one batch (see the module docs), publishes it outside any transaction and marks
    /// what happened: published rows, the failed row of each user (rescheduled, or parked when
    /// the sidecar keeps refusing it), and the untried rows after it (released).
    #[tracing::instrument(skip_all, fields(claimed, published))]
    pub async fn publish_batch(&self) -> sqlx::Result<BatchOutcome> {
        let rows: Vec<OutboxRow> = sqlx::query_as(LEASE_SQL)
            .bind(self.settings.batch_size)
            .bind(self.settings.run_length.max(1))
            .bind(self.settings.lease.as_secs_f64())
            .bind(self.settings.max_rows.max(1))
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let claimed = rows.len();
        let mut by_key: BTreeMap<&str, Vec<&OutboxRow>> = BTreeMap::new();
        for row in &rows {
            by_key
                .entry(row.partition_key.as_str())
                .or_default()
                .push(row);
        }
        for run in by_key.values_mut() {
            run.sort_by_key(|row| row.id);
        }
        let results = join_all(by_key.into_values().map(|run| self.publish_in_order(run))).await;
        let mut outcome = BatchOutcome {
            claimed,
            ..BatchOutcome::default()
        };
        let mut published = Vec::with_capacity(claimed);
        let mut released = Vec::new();
        for result in results {
            published.extend(result.published);
            released.extend(result.untried);
            if let Some((id, attempts, error)) = result.failed {
                if matches!(error, DaprError::Unavailable(_)) {
                    outcome.sidecar_unreachable = true;
                    released.push(id);
                } else if self.record_failure(id, attempts, &error).await? {
                    outcome.parked += 1;
                }
            }
        }
        sqlx::query(
            "UPDATE outbox SET published_at = now(), leased_until = NULL, attempts = attempts + 1 \
             WHERE id = ANY($1)",
        )
        .bind(&published)
        .execute(&self.pool)
        .await?;
        if !released.is_empty() {
            sqlx::query("UPDATE outbox SET leased_until = NULL WHERE id = ANY($1)")
                .bind(&released)
                .execute(&self.pool)
                .await?;
        }
        outcome.published = published.len();
        metrics::counter!("outbox_published_total").increment(published.len() as u64);
        let span = tracing::Span::current();
        span.record("claimed", claimed);
        span.record("published", published.len());
        Ok(outcome)
    }

    /// Reschedules a failed row with its own backoff, or parks it when the sidecar refused it
    /// for good `park_after` times. Returns whether it was parked.
    async fn record_failure(
        &self,
        id: i64,
        attempts: i32,
        error: &DaprError,
    ) -> sqlx::Result<bool> {
        let attempts = attempts.saturating_add(1);
        let park = !error.is_transient() && attempts >= self.settings.park_after;
        let delay = doubling_backoff(
            self.settings.initial_backoff,
            self.settings.max_backoff,
            attempts,
        );
        sqlx::query(
            "UPDATE outbox SET attempts = $2, last_error = $3, leased_until = NULL, \
             next_attempt_at = now() + make_interval(secs => $4), \
             parked_at = CASE WHEN $5 THEN now() END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(attempts)
        .bind(error.to_string())
        .bind(delay.as_secs_f64())
        .bind(park)
        .execute(&self.pool)
        .await?;
        if park {
            metrics::counter!("outbox_parked_total").increment(1);
            tracing::error!(outbox_id = id, attempts, %error, "publish refused for good: row parked; the user's later events go on (see `backend-api outbox parked`)");
        }
        Ok(park)
    }

    /// Publishes one user's rows in id order, stopping at the first failure so a later event
    /// of that user never overtakes an earlier one.
    async fn publish_in_order(&self, rows: Vec<&OutboxRow>) -> RunResult {
        let mut result = RunResult::default();
        let mut rows = rows.into_iter();
        for row in rows.by_ref() {
            match self
                .dapr
                .publish_cloudevent_text(
                    &row.pubsub,
                    &row.topic,
                    row.envelope.clone(),
                    row.traceparent.as_deref(),
                    &row.partition_key,
                )
                .await
            {
                Ok(()) => result.published.push(row.id),
                Err(error) => {
                    log_publish_failure(&error, row.id);
                    result.failed = Some((row.id, row.attempts, error));
                    break;
                }
            }
        }
        result.untried = rows.map(|row| row.id).collect();
        result
    }

    async fn prune(&self) {
        let retention = self.settings.retention.as_secs() as f64;
        let result = sqlx::query(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(retention)
        .execute(&self.pool)
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "outbox prune failed");
        }
    }
}

/// Takes every notification the listener already has, without waiting for more. A lost
/// connection is left for [`OutboxRelay::run`]'s wait to notice and replace.
async fn drain_notifications(listener: &mut Option<PgListener>) {
    let Some(listener) = listener else {
        return;
    };
    // Polled once, `recv` completes only with a notification already received (it is
    // cancel-safe: a message is taken from the buffer only when whole).
    while let Some(Ok(_)) = listener.recv().now_or_never() {}
}

/// The wait after the `attempts`-th failed attempt: `initial`, doubled per attempt, at most
/// `max` (the outbox's and the dead letters' per-row backoff).
pub(crate) fn doubling_backoff(initial: Duration, max: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    initial.saturating_mul(2u32.pow(doublings)).min(max)
}

/// Parked rows, oldest first (for `backend-api outbox parked`).
pub async fn parked_rows(pool: &PgPool) -> sqlx::Result<Vec<ParkedRow>> {
    sqlx::query_as(
        "SELECT id, event_id, topic, partition_key, attempts, last_error, created_at, parked_at \
         FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Puts parked rows back in line (all of them with `None`): they are published at the next
/// pass, after nothing — a replayed event may reach consumers after later events of its user.
pub async fn replay_parked(pool: &PgPool, id: Option<i64>) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL \
         WHERE parked_at IS NOT NULL AND published_at IS NULL AND ($1::bigint IS NULL OR id = $1)",
    )
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes parked rows (all of them with `None`): their events are given up.
pub async fn discard_parked(pool: &PgPool, id: Option<i64>) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM outbox \
         WHERE parked_at IS NOT NULL AND published_at IS NULL AND ($1::bigint IS NULL OR id = $1)",
    )
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected())
}

fn log_publish_failure(error: &DaprError, id: i64) {
    if error.is_transient() {
        tracing::warn!(outbox_id = id, %error, "publish failed, will retry");
    } else {
        tracing::error!(outbox_id = id, %error, "publish refused by the sidecar");
    }
}
