//! `user-deleted`: a deleted account's notifications go (and with them the records of which
//! reminders fired for them; the tasks are gone, so nothing fires again).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::dead_letters::{self, DeadLetters, Handler};
use common::delivery::{DaprSubscription, Verdict, decode_user_deleted, verdict_for_db_error};
use common::events::{PUBSUB, topics};
use sqlx::PgPool;

use crate::SERVICE;

/// Where the sidecar delivers `user-deleted`.
pub const ROUTE: &str = "/events/user-deleted";

/// `user-deleted` on `pubsub`, with notification's own dead-letter topic, and the subscription
/// to that topic ([`common::dead_letters`]).
pub fn subscriptions() -> Vec<DaprSubscription> {
    let mut subscriptions = vec![DaprSubscription::new(
        SERVICE,
        PUBSUB,
        topics::USER_DELETED,
        ROUTE,
    )];
    subscriptions.extend(dead_letters::inbox_subscriptions(
        SERVICE,
        PUBSUB,
        &[topics::USER_DELETED],
    ));
    subscriptions
}

/// The delivery and dead-letter routes (the caller guards them with the app token).
pub fn routes(pool: PgPool, dead_letters: &DeadLetters<Forget>) -> Router {
    Router::new()
        .route(ROUTE, post(on_user_deleted))
        .with_state(pool)
        .merge(dead_letters.routes(&[topics::USER_DELETED]))
}

async fn on_user_deleted(State(pool): State<PgPool>, body: Bytes) -> Verdict {
    forget_user(&pool, &body).await
}

/// Deletes the notifications of the user of a `user-deleted` event, in one transaction with
/// their fired-reminder records. Deleting again finds nothing: a redelivery is harmless.
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

/// The erasure as the dead-letter retrier's handler.
#[derive(Clone)]
pub struct Forget(pub PgPool);

impl Handler for Forget {
    async fn handle(&self, _topic: &str, body: Bytes) -> Verdict {
        forget_user(&self.0, &body).await
    }
}
