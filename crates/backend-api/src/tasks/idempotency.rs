//! Idempotency keys of task creation (`Idempotency-Key`): remembered for a day, then pruned.

/// How long a key is remembered: long enough for any client retry, short enough to bound the table.
pub const IDEMPOTENCY_KEY_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

/// Forgets idempotency keys older than `retention`; returns how many were removed.
pub async fn prune_idempotency_keys(
    pool: &sqlx::PgPool,
    retention: std::time::Duration,
) -> sqlx::Result<u64> {
    let removed = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
    )
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(removed)
}
