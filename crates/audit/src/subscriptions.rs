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
use common::delivery::{DaprSubscription, TopicReply, decode_task_event, reply_for_db_error};
use common::events::{EventType, PUBSUB, topics};

use crate::journal::{Appended, append};
use crate::startup::AppState;

/// The app route that receives `topic`.
pub fn route_for(topic: &str) -> String {
    format!("/events/{topic}")
}

/// One subscription per task topic on `pubsub`, each with its dead-letter topic.
pub fn subscriptions() -> Vec<DaprSubscription> {
    topics::TASK_TOPICS
        .iter()
        .map(|topic| DaprSubscription::new(PUBSUB, topic, &route_for(topic)))
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
) -> TopicReply {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            // Too large or unreadable: redelivering the same bytes cannot help.
            tracing::warn!(%rejection, "dropping unreadable delivery");
            return TopicReply::Drop;
        }
    };
    let event = match decode_task_event(&body) {
        Ok(envelope) => envelope.data,
        Err(reply) => return reply,
    };
    if event.event_type == EventType::ReminderDue {
        tracing::warn!(event_id = %event.event_id, "dropping a reminder event sent to a task topic");
        return TopicReply::Drop;
    }
    match append(&state.pool, &event).await {
        Ok(Appended::Recorded) => {
            tracing::debug!(event_id = %event.event_id, "audit entry recorded");
            TopicReply::Success
        }
        Ok(Appended::Duplicate) => {
            tracing::debug!(event_id = %event.event_id, "duplicate delivery ignored");
            TopicReply::Success
        }
        Err(error) => reply_for_db_error(&error),
    }
}
