//! `GET /dapr/subscribe` and the delivery routes: `reminder-due` (notification's own events,
//! pushed to the user's browsers: [`crate::push::send`]) and `user-deleted`
//! ([`crate::erasure`]), each with notification's dead-letter topic, and those topics' inbox
//! ([`common::dead_letters`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use common::dead_letters::{self, DeadLetters, Handler};
use common::delivery::{DaprSubscription, Verdict};
use common::events::{PUBSUB, topics};
use common::server::subscribe_route;
use sqlx::PgPool;

use crate::SERVICE;
use crate::push::Push;

/// The topics notification consumes.
pub const TOPICS: [&str; 2] = [topics::REMINDER_DUE, topics::USER_DELETED];

fn route_for(topic: &str) -> String {
    format!("/events/{topic}")
}

/// One subscription per topic of [`TOPICS`] on `pubsub` with notification's dead-letter topic,
/// and the subscriptions to those dead-letter topics.
pub fn subscriptions() -> Vec<DaprSubscription> {
    TOPICS
        .iter()
        .map(|topic| DaprSubscription::new(SERVICE, PUBSUB, topic, &route_for(topic)))
        .chain(dead_letters::inbox_subscriptions(SERVICE, PUBSUB, &TOPICS))
        .collect()
}

/// What the deliveries need.
#[derive(Clone)]
pub struct Consumers {
    /// Postgres.
    pub pool: PgPool,
    /// Web Push.
    pub push: Arc<Push>,
}

impl Handler for Consumers {
    async fn handle(&self, topic: &str, body: Bytes) -> Verdict {
        if topic == topics::USER_DELETED {
            crate::erasure::forget_user(&self.pool, &body).await
        } else {
            crate::push::send::push_reminder(&self.pool, &self.push, &body).await
        }
    }
}

/// The internal routes: the subscription list, deliveries and dead letters (the caller guards
/// them with the app token).
pub fn routes(consumers: Consumers, dead_letters: &DeadLetters<Consumers>) -> Router {
    TOPICS
        .iter()
        .fold(Router::new(), |router, &topic| {
            router.route(
                &route_for(topic),
                post(
                    move |State(consumers): State<Consumers>, body: Bytes| async move {
                        consumers.handle(topic, body).await
                    },
                ),
            )
        })
        .with_state(consumers)
        .merge(dead_letters.routes(&TOPICS))
        .merge(subscribe_route(subscriptions()))
}
