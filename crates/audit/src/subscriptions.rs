//! `GET /dapr/subscribe` and the delivery handler for the four task topics.
//!
//! The handler reads the raw body (never a `Json` extractor, whose 4xx rejections Dapr would
//! turn into a drop or an endless retry) and always answers 200 with an explicit status:
//! `DROP` for what can never be recorded, `RETRY` while the database is out of reach.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::routing::post;
use common::dead_letters::{self, Handler};
use common::delivery::{DaprSubscription, Verdict, decode_task_event, verdict_for_db_error};
use common::events::{EventType, PUBSUB, topics};
use sqlx::PgPool;

use crate::SERVICE;
use crate::journal::{Appended, append};
use crate::startup::AppState;

/// The app route that receives `topic`.
pub fn route_for(topic: &str) -> String {
    format!("/events/{topic}")
}

/// One subscription per task topic on `pubsub`, each with audit's own dead-letter topic, and
/// the subscriptions to those dead-letter topics ([`common::dead_letters`]).
pub fn subscriptions() -> Vec<DaprSubscription> {
    topics::TASK_TOPICS
        .iter()
        .map(|topic| DaprSubscription::new(SERVICE, PUBSUB, topic, &route_for(topic)))
        .chain(dead_letters::inbox_subscriptions(
            SERVICE,
            PUBSUB,
            &topics::TASK_TOPICS,
        ))
        .collect()
}

/// The delivery routes (without the `/dapr/subscribe` route and the app-token guard).
pub fn delivery_routes() -> Router<AppState> {
    topics::TASK_TOPICS
        .iter()
        .fold(Router::new(), |router, topic| {
            router.route(&route_for(topic), post(receive_task_event))
        })
}

/// Records one delivered task event in the audit trail.
pub async fn receive_task_event(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Verdict {
    match body {
        Ok(body) => record(&state.pool, &body).await,
        Err(rejection) => {
            // Too large or unreadable: redelivering the same bytes cannot help.
            tracing::warn!(%rejection, "dropping unreadable delivery");
            Verdict::Drop(format!("unreadable delivery: {rejection}"))
        }
    }
}

/// Records one task event (a delivery, or a dead letter retried): idempotent by event id.
pub async fn record(pool: &PgPool, body: &[u8]) -> Verdict {
    let event = match decode_task_event(body) {
        Ok(envelope) => envelope.data,
        Err(verdict) => return verdict,
    };
    if event.event_type == EventType::ReminderDue {
        tracing::warn!(event_id = %event.event_id, "dropping a reminder event sent to a task topic");
        return Verdict::Drop("a reminder event on a task topic".to_owned());
    }
    match append(pool, &event).await {
        Ok(Appended::Recorded) => {
            tracing::debug!(event_id = %event.event_id, "audit entry recorded");
            Verdict::Done
        }
        Ok(Appended::Duplicate) => {
            tracing::debug!(event_id = %event.event_id, "duplicate delivery ignored");
            Verdict::Done
        }
        Err(error) => verdict_for_db_error(&error),
    }
}

/// The audit trail as the dead-letter retrier's handler.
#[derive(Clone)]
pub struct Journal(pub PgPool);

impl Handler for Journal {
    async fn handle(&self, _topic: &str, body: Bytes) -> Verdict {
        record(&self.0, &body).await
    }
}
