//! `GET /dapr/subscribe` and the delivery handler for the four task topics.
//!
//! The handler reads the raw body (never a `Json` extractor, whose 4xx rejections Dapr would
//! turn into a drop or an endless retry) and always answers 200 with an explicit status:
//! `DROP` for what can never be recorded, `RETRY` while the database is out of reach.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::dead_letters::{self, Handler};
use common::delivery::{
    BulkDelivery, BulkReply, BulkSubscribe, DaprSubscription, Delivery, Verdict, decode_task_event,
    decode_user_deleted, verdict_for_db_error,
};
use common::events::{EventType, PUBSUB, TaskEvent, topics};
use sqlx::PgPool;

use crate::SERVICE;
use crate::journal::{Appended, Erased, append, append_batch, erase};
use crate::startup::AppState;

/// The app route that receives `topic`.
pub fn route_for(topic: &str) -> String {
    format!("/events/{topic}")
}

/// One subscription per task topic on `pubsub`, each with audit's own dead-letter topic and in
/// batches when `batching` is set, and the subscriptions to those dead-letter topics
/// ([`common::dead_letters`]).
pub fn subscriptions(batching: Option<BulkSubscribe>) -> Vec<DaprSubscription> {
    topics::TASK_TOPICS
        .iter()
        .map(|topic| {
            DaprSubscription::new(SERVICE, PUBSUB, topic, &route_for(topic)).in_batches(batching)
        })
        .chain([DaprSubscription::new(
            SERVICE,
            PUBSUB,
            topics::USER_DELETED,
            &route_for(topics::USER_DELETED),
        )])
        .chain(dead_letters::inbox_subscriptions(
            SERVICE,
            PUBSUB,
            &INBOX_TOPICS,
        ))
        .collect()
}

/// The topics whose dead letters audit takes back ([`common::dead_letters`]).
pub const INBOX_TOPICS: [&str; 5] = [
    topics::TASK_CREATED,
    topics::TASK_UPDATED,
    topics::TASK_COMPLETED,
    topics::TASK_DELETED,
    topics::USER_DELETED,
];

/// The delivery routes (without the `/dapr/subscribe` route and the app-token guard).
pub fn delivery_routes() -> Router<AppState> {
    topics::TASK_TOPICS
        .iter()
        .fold(Router::new(), |router, topic| {
            router.route(&route_for(topic), post(receive_task_event))
        })
        .route(&route_for(topics::USER_DELETED), post(receive_user_deleted))
}

/// Erases a deleted account's entries, leaving a tombstone ([`crate::journal::erase`]).
pub async fn receive_user_deleted(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Verdict {
    match body {
        Ok(body) => erase_user(&state.pool, &body).await,
        Err(rejection) => Verdict::Drop(format!("unreadable delivery: {rejection}")),
    }
}

/// Erases the user of one `user-deleted` event (a delivery, or a dead letter retried).
pub async fn erase_user(pool: &PgPool, body: &[u8]) -> Verdict {
    let event = match decode_user_deleted(body) {
        Ok(event) => event,
        Err(verdict) => return verdict,
    };
    match erase(pool, &event).await {
        Ok(Erased::Tombstoned { entries }) => {
            tracing::info!(user_id = %event.user_id, entries, "audit trail of a deleted account erased");
            Verdict::Done
        }
        Ok(Erased::Duplicate) => Verdict::Done,
        Err(error) => verdict_for_db_error(&error),
    }
}

/// Records a delivered task event, or each event of a bulk delivery, in the audit trail.
pub async fn receive_task_event(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            // Too large or unreadable: redelivering the same bytes cannot help.
            tracing::warn!(%rejection, "dropping unreadable delivery");
            return Verdict::Drop(format!("unreadable delivery: {rejection}")).into_response();
        }
    };
    match Delivery::read(&body) {
        Delivery::One(body) => record(&state.pool, body).await.into_response(),
        Delivery::Bulk(batch) => record_batch(&state.pool, &batch).await.into_response(),
    }
}

/// The task event in `body`, or the verdict on one that can never be recorded.
fn decode(body: &[u8]) -> Result<TaskEvent, Verdict> {
    let event = decode_task_event(body)?.data;
    if event.event_type == EventType::ReminderDue {
        tracing::warn!(event_id = %event.event_id, "dropping a reminder event sent to a task topic");
        return Err(Verdict::Drop("a reminder event on a task topic".to_owned()));
    }
    Ok(event)
}

/// Records one task event (a delivery, or a dead letter retried): idempotent by event id.
pub async fn record(pool: &PgPool, body: &[u8]) -> Verdict {
    match decode(body) {
        Ok(event) => record_event(pool, &event).await,
        Err(verdict) => verdict,
    }
}

async fn record_event(pool: &PgPool, event: &TaskEvent) -> Verdict {
    match append(pool, event).await {
        Ok(Appended::Recorded) => {
            tracing::debug!(event_id = %event.event_id, "audit entry recorded");
            Verdict::Done
        }
        Ok(Appended::Duplicate) => {
            tracing::debug!(event_id = %event.event_id, "duplicate delivery ignored");
            Verdict::Done
        }
        Ok(Appended::Erased) => {
            tracing::debug!(event_id = %event.event_id, "event of a deleted account ignored");
            Verdict::Done
        }
        Err(error) => verdict_for_db_error(&error),
    }
}

/// Records the events of a bulk delivery in one transaction and answers each entry. Entries
/// that are no task event are dropped alone, and an event already in the log is a duplicate
/// within the batch. When the batch cannot be recorded in one go, a transient fault asks for all
/// of it again; anything else (an event the database refuses) records the events one by one, so
/// only the bad one is dropped.
pub async fn record_batch(pool: &PgPool, batch: &BulkDelivery) -> BulkReply {
    let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.entries.len()];
    let mut events = Vec::with_capacity(batch.entries.len());
    let mut positions = Vec::with_capacity(batch.entries.len());
    for (position, entry) in batch.entries.iter().enumerate() {
        match decode(entry.event_bytes()) {
            Ok(event) => {
                events.push(event);
                positions.push(position);
            }
            Err(verdict) => verdicts[position] = Some(verdict),
        }
    }
    let together = match append_batch(pool, &events).await {
        Ok(Some(_)) => Some(Verdict::Done),
        Ok(None) => None,
        Err(error) => match verdict_for_db_error(&error) {
            retry @ Verdict::Retry(_) => Some(retry),
            _ => None,
        },
    };
    for (event, position) in events.iter().zip(positions) {
        verdicts[position] = Some(match &together {
            Some(verdict) => verdict.clone(),
            None => record_event(pool, event).await,
        });
    }
    let mut reply = BulkReply::default();
    for (entry, verdict) in batch.entries.iter().zip(verdicts) {
        let verdict = verdict.unwrap_or(Verdict::Retry("not handled".to_owned()));
        reply.push(entry, verdict.reply());
    }
    reply
}

/// The audit trail as the dead-letter retrier's handler.
#[derive(Clone)]
pub struct Journal(pub PgPool);

impl Handler for Journal {
    async fn handle(&self, topic: &str, body: Bytes) -> Verdict {
        if topic == topics::USER_DELETED {
            erase_user(&self.0, &body).await
        } else {
            record(&self.0, &body).await
        }
    }
}
