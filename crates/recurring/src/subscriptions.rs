//! `GET /dapr/subscribe` and the `task-completed` delivery route. Every delivery is answered
//! explicitly (reference §2.4): SUCCESS when handled or nothing to do, RETRY when the database
//! is unavailable, DROP (to the dead-letter topic) when the event can never be handled.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use bytes::Bytes;
use common::delivery::{DaprSubscription, TopicReply, decode_task_event, reply_for_db_error};
use common::events::{EventType, PUBSUB, topics};
use common::server::{require_app_token, subscribe_route};
use sqlx::PgPool;

use crate::occurrence::{OccurrenceError, Outcome, create_next_occurrence};

/// Where the sidecar delivers `task-completed`.
pub const TASK_COMPLETED_ROUTE: &str = "/events/task-completed";

/// The programmatic subscriptions: `task-completed` on `pubsub`, with its dead-letter topic.
pub fn subscriptions() -> Vec<DaprSubscription> {
    vec![DaprSubscription::new(
        PUBSUB,
        topics::TASK_COMPLETED,
        TASK_COMPLETED_ROUTE,
    )]
}

/// The internal routes (subscription list and delivery), guarded by the app token.
pub fn router(pool: PgPool, app_api_token: Option<String>) -> Router {
    let routes = Router::new()
        .route(TASK_COMPLETED_ROUTE, post(on_task_completed))
        .with_state(pool)
        .merge(subscribe_route(subscriptions()));
    require_app_token(routes, app_api_token)
}

/// Takes raw bytes so that a body that is not a task CloudEvent is answered DROP by us rather
/// than rejected with a 4xx by an extractor (which the sidecar would retry or silently drop).
async fn on_task_completed(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    body: Bytes,
) -> TopicReply {
    let envelope = match decode_task_event(&body) {
        Ok(envelope) => envelope,
        Err(reply) => return reply,
    };
    let event = envelope.data;
    if event.event_type != EventType::TaskCompleted {
        tracing::warn!(event_id = %event.event_id, event_type = ?event.event_type, "dropping an event that is not task-completed");
        return TopicReply::Drop;
    }
    // The delivery's traceparent (the subscriber-side span) joins our outbox event to this
    // delivery's trace; the envelope's is the publisher's, a fallback.
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(envelope.traceparent);
    match create_next_occurrence(&pool, &event, traceparent).await {
        Ok(outcome) => {
            log_outcome(&event.event_id, outcome);
            TopicReply::Success
        }
        Err(OccurrenceError::Database(error)) => reply_for_db_error(&error),
        Err(error) => {
            tracing::error!(event_id = %event.event_id, %error, "cannot compute the next occurrence; dropping");
            TopicReply::Drop
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
