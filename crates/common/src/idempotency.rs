//! Consumer-side idempotency: a consumer records the event id in the same transaction as its
//! effect, so a duplicate or concurrent redelivery finds the record and changes nothing
//! (SPEC §6). Marking happens with the work, never before it.

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
