//! `user-deleted`: a deleted account's notifications and push subscriptions go (and with them the
//! records of which reminders fired for them; the tasks are gone, so nothing fires again).

use common::delivery::{Verdict, decode_user_deleted, verdict_for_db_error};
use sqlx::PgPool;

/// Deletes the notifications and push subscriptions of the user of a `user-deleted` event, in one
/// transaction with their fired-reminder records. Deleting again finds nothing: a redelivery is harmless.
pub async fn forget_user(pool: &PgPool, body: &[u8]) -> Verdict {
    let event = match decode_user_deleted(body) {
        Ok(event) => event,
        Err(verdict) => return verdict,
    };
    match delete_rows(pool, &event.user_id).await {
        Ok(removed) => {
            tracing::info!(user_id = %event.user_id, notifications = removed, "notifications of a deleted account removed");
            Verdict::Done
        }
        Err(error) => verdict_for_db_error(&error),
    }
}

async fn delete_rows(pool: &PgPool, user_id: &str) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM push_subscriptions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM fired_reminders WHERE notification_id IN \
         (SELECT id FROM notifications WHERE user_id = $1)",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let removed = sqlx::query("DELETE FROM notifications WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(removed)
}
