//! The transactional outbox (SPEC §6 "No lost events"). A writer calls [`enqueue`] inside the
//! transaction that changes a task, so the change and its event commit or vanish together. The
//! [`OutboxRelay`] publishes committed rows through the sidecar and marks them published:
//!
//! * it wakes at once on `NOTIFY outbox` (sent by [`enqueue`], delivered on commit) and polls as
//!   a fallback, so a lost notification only delays, never loses;
//! * rows are claimed with `FOR UPDATE SKIP LOCKED`, so relays on several replicas never hold
//!   the same row, and under a transaction-scoped advisory lock on their partition key, so only
//!   one relay at a time publishes a given user's events;
//! * rows of one partition key (user) are published one after another in id order and a failed
//!   row stops its key's batch, so a user's events reach the broker in commit order; different
//!   users' rows are published concurrently;
//! * while the sidecar or broker is down nothing is marked, and the relay retries with
//!   exponential backoff. A crash between publish and mark republishes the row with the same
//!   CloudEvent id: delivery is at-least-once and consumers deduplicate on that id.

use std::collections::BTreeMap;
use std::time::Duration;

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
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 200,
            poll_interval: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    pubsub: String,
    topic: String,
    partition_key: String,
    envelope: Value,
}

/// What one pass of the relay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows claimed.
    pub claimed: usize,
    /// Rows published and marked.
    pub published: usize,
}

/// Publishes committed outbox rows through the Dapr sidecar.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    pool: PgPool,
    dapr: DaprClient,
    settings: RelaySettings,
}

impl OutboxRelay {
    /// A relay over `pool` publishing through `dapr`.
    pub fn new(pool: PgPool, dapr: DaprClient, settings: RelaySettings) -> Self {
        Self {
            pool,
            dapr,
            settings,
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
            match self.publish_batch().await {
                Ok(outcome) if outcome.published < outcome.claimed => {
                    // The sidecar refused part of the batch: back off before trying again.
                    self.sleep_or_cancel(backoff, &shutdown).await;
                    backoff = (backoff * 2).min(self.settings.max_backoff);
                    continue;
                }
                Ok(outcome) => {
                    backoff = self.settings.initial_backoff;
                    if outcome.claimed as i64 == self.settings.batch_size {
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

    /// Claims one batch of unpublished rows, publishes them and marks what was published.
    #[tracing::instrument(skip_all, fields(claimed, published))]
    pub async fn publish_batch(&self) -> sqlx::Result<BatchOutcome> {
        let mut tx = self.pool.begin().await?;
        // The advisory lock on the partition key keeps every other relay (backend-api, recurring
        // and notification all run one, on every replica) away from this user's rows until we
        // commit, so no relay can publish a later event of the user while we hold an earlier
        // one. SKIP LOCKED alone would not: another relay could take the user's next row.
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, pubsub, topic, partition_key, envelope FROM outbox \
             WHERE published_at IS NULL AND pg_try_advisory_xact_lock(hashtextextended(partition_key, 0)) \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.settings.batch_size)
        .fetch_all(&mut *tx)
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
        let results = join_all(
            by_key
                .into_values()
                .map(|key_rows| self.publish_in_order(key_rows)),
        )
        .await;
        let mut published = Vec::with_capacity(claimed);
        let mut failed: Option<(i64, String)> = None;
        for (ok_ids, failure) in results {
            published.extend(ok_ids);
            if failure.is_some() && failed.is_none() {
                failed = failure;
            }
        }
        sqlx::query(
            "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1)",
        )
        .bind(&published)
        .execute(&mut *tx)
        .await?;
        if let Some((id, error)) = &failed {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
                .bind(id)
                .bind(error)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        metrics::counter!("outbox_published_total").increment(published.len() as u64);
        let span = tracing::Span::current();
        span.record("claimed", claimed);
        span.record("published", published.len());
        Ok(BatchOutcome {
            claimed,
            published: published.len(),
        })
    }

    /// Publishes one key's rows in id order, stopping at the first failure so a later event of
    /// that user never overtakes an earlier one.
    async fn publish_in_order(&self, rows: Vec<&OutboxRow>) -> (Vec<i64>, Option<(i64, String)>) {
        let mut ok = Vec::with_capacity(rows.len());
        for row in rows {
            match self
                .dapr
                .publish_cloudevent(&row.pubsub, &row.topic, &row.envelope, &row.partition_key)
                .await
            {
                Ok(()) => ok.push(row.id),
                Err(error) => {
                    log_publish_failure(&error, row.id);
                    return (ok, Some((row.id, error.to_string())));
                }
            }
        }
        (ok, None)
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

fn log_publish_failure(error: &DaprError, id: i64) {
    if error.is_transient() {
        tracing::warn!(outbox_id = id, %error, "publish failed, will retry");
    } else {
        tracing::error!(outbox_id = id, %error, "publish refused by the sidecar, will retry");
    }
}
