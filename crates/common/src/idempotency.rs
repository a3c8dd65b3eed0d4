//! Consumer-side idempotency: a consumer records the event id in the same transaction as its
//! effect, so a duplicate or concurrent redelivery finds the record and changes nothing
//! (docs/contract.md §6). Marking happens with the work, never before it.

use sqlx::PgConnection;
use uuid::Uuid;

/// Records that `consumer` processed `event_id`, inside the caller's transaction. Returns
/// `false` when it was already recorded: the caller must then skip the effect (and commit or
/// roll back, either is fine). A concurrent delivery of the same event blocks on the unique key
/// until the first transaction ends, then sees `false`.
#[tracing::instrument(skip(conn))]
pub async fn record_processed(
    conn: &mut PgConnection,
    consumer: &str,
    event_id: Uuid,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(event_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// How long a processed-event record is kept: far longer than any redelivery window (the
/// sidecar's retries last minutes, a Kafka topic keeps messages 7 days by default), so a
/// duplicate still finds its record, while the table stays bounded.
pub const PROCESSED_RETENTION: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// Deletes `consumer`'s records older than `retention`; returns how many.
pub async fn forget_processed(
    pool: &sqlx::PgPool,
    consumer: &str,
    retention: std::time::Duration,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM processed_events \
         WHERE consumer = $1 AND processed_at < now() - make_interval(secs => $2)",
    )
    .bind(consumer)
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}

/// Runs [`forget_processed`] for `consumer` every hour until `shutdown`.
pub async fn forget_processed_periodically(
    pool: sqlx::PgPool,
    consumer: &'static str,
    retention: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match forget_processed(&pool, consumer, retention).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(consumer, forgotten, "forgot old processed events"),
            Err(error) => tracing::warn!(consumer, %error, "could not forget old processed events"),
        }
    }
}
