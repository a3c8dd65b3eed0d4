//! `GET /dapr/subscribe` and the `task-completed` delivery route. Every delivery is answered
//! explicitly (docs/dapr-behaviour.md §2.4): SUCCESS when handled or nothing to do, RETRY when the
//! database is unavailable, DROP (to the dead-letter topic) when the event can never be handled.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use bytes::Bytes;
use common::dead_letters::{self, DeadLetters, Handler};
use common::delivery::{
    DaprSubscription, Verdict, decode_task_event, decode_user_deleted, verdict_for_db_error,
};
use common::events::{EventType, PUBSUB, topics};
use common::server::subscribe_route;
use sqlx::PgPool;

use crate::SERVICE;
use crate::occurrence::{OccurrenceError, Outcome, create_next_occurrence};

/// Where the sidecar delivers `task-completed`.
pub const TASK_COMPLETED_ROUTE: &str = "/events/task-completed";

/// The programmatic subscriptions: `task-completed` on `pubsub`, with recurring's own
/// dead-letter topic, and the subscription to that topic ([`common::dead_letters`]).
pub fn subscriptions() -> Vec<DaprSubscription> {
    let mut subscriptions = vec![
        DaprSubscription::new(
            SERVICE,
            PUBSUB,
            topics::TASK_COMPLETED,
            TASK_COMPLETED_ROUTE,
        ),
        DaprSubscription::new(SERVICE, PUBSUB, topics::USER_DELETED, USER_DELETED_ROUTE),
    ];
    subscriptions.extend(dead_letters::inbox_subscriptions(SERVICE, PUBSUB, &TOPICS));
    subscriptions
}

/// Where the sidecar delivers `user-deleted`.
pub const USER_DELETED_ROUTE: &str = "/events/user-deleted";

/// The topics recurring takes (and takes back from its dead-letter topics).
const TOPICS: [&str; 2] = [topics::TASK_COMPLETED, topics::USER_DELETED];

/// The internal routes: the subscription list, deliveries and dead letters (the caller guards
/// them with the app token).
pub fn routes(pool: PgPool, dead_letters: &DeadLetters<Occurrences>) -> Router {
    Router::new()
        .route(TASK_COMPLETED_ROUTE, post(on_task_completed))
        .route(USER_DELETED_ROUTE, post(on_user_deleted))
        .with_state(pool)
        .merge(dead_letters.routes(&TOPICS))
        .merge(subscribe_route(subscriptions()))
}

async fn on_user_deleted(State(pool): State<PgPool>, body: Bytes) -> Verdict {
    forget_user(&pool, &body).await
}

/// Deletes the recurrence links of the user of a `user-deleted` event (their tasks are gone:
/// backend-api erased them, and no next occurrence is created for an erased user). Deleting
/// again finds nothing, so a redelivery is harmless.
pub async fn forget_user(pool: &PgPool, body: &[u8]) -> Verdict {
    let event = match decode_user_deleted(body) {
        Ok(event) => event,
        Err(verdict) => return verdict,
    };
    match sqlx::query("DELETE FROM recurrence_links WHERE user_id = $1")
        .bind(&event.user_id)
        .execute(pool)
        .await
    {
        Ok(done) => {
            tracing::info!(user_id = %event.user_id, links = done.rows_affected(), "recurrence links of a deleted account removed");
            Verdict::Done
        }
        Err(error) => verdict_for_db_error(&error),
    }
}

/// Takes raw bytes so that a body that is not a task CloudEvent is answered DROP by us rather
/// than rejected with a 4xx by an extractor (which the sidecar would retry or silently drop).
async fn on_task_completed(State(pool): State<PgPool>, headers: HeaderMap, body: Bytes) -> Verdict {
    // The delivery's traceparent (the subscriber-side span) joins our outbox event to this
    // delivery's trace.
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    next_occurrence(&pool, &body, traceparent).await
}

/// Creates the next occurrence for one `task-completed` event (a delivery, or a dead letter
/// retried): at most once per event. `traceparent` falls back to the envelope's.
pub async fn next_occurrence(pool: &PgPool, body: &[u8], traceparent: Option<String>) -> Verdict {
    let envelope = match decode_task_event(body) {
        Ok(envelope) => envelope,
        Err(verdict) => return verdict,
    };
    let event = envelope.data;
    if event.event_type != EventType::TaskCompleted {
        tracing::warn!(event_id = %event.event_id, event_type = ?event.event_type, "dropping an event that is not task-completed");
        return Verdict::Drop(format!("{:?} is not task-completed", event.event_type));
    }
    let traceparent = traceparent.or(envelope.traceparent);
    match create_next_occurrence(pool, &event, traceparent).await {
        Ok(outcome) => {
            log_outcome(&event.event_id, outcome);
            Verdict::Done
        }
        Err(OccurrenceError::Database(error)) => verdict_for_db_error(&error),
        Err(error) => {
            tracing::error!(event_id = %event.event_id, %error, "cannot compute the next occurrence; dropping");
            Verdict::Drop(format!("cannot compute the next occurrence: {error}"))
        }
    }
}

/// Next occurrences as the dead-letter retrier's handler.
#[derive(Clone)]
pub struct Occurrences(pub PgPool);

impl Handler for Occurrences {
    async fn handle(&self, topic: &str, body: Bytes) -> Verdict {
        if topic == topics::USER_DELETED {
            forget_user(&self.0, &body).await
        } else {
            next_occurrence(&self.0, &body, None).await
        }
    }
}

fn log_outcome(event_id: &uuid::Uuid, outcome: Outcome) {
    match outcome {
        Outcome::Created { task_id, due_date } => {
            tracing::info!(%event_id, next_task_id = %task_id, %due_date, "created the next occurrence");
        }
        Outcome::NotRecurring => {}
        other => tracing::info!(%event_id, outcome = ?other, "no next occurrence created"),
    }
}
