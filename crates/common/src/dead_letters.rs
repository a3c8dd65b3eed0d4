//! Dead letters are not a dead end. Each consuming service subscribes to its own dead-letter
//! topics (`<service>-<topic>-dlq`, [`crate::events::dead_letter_topic`]) and stores what
//! arrives in the `dead_letters` table; a retrier then hands each stored event back to the
//! service's own handler:
//!
//! * handled → the row is deleted (the handlers are idempotent, so an event that did land
//!   before is simply acknowledged);
//! * a transient failure (database still away) → tried again with a growing backoff, for as
//!   long as it takes: nothing is lost once the database is back;
//! * a permanent refusal → parked with its reason, counted in `/metrics`, and left to an
//!   operator (`<service> dead-letters list | replay <id|all> | discard <id|all>`).
//!
//! The inbox subscription has no dead-letter topic of its own: when it cannot store an event
//! (the database is down too) it answers RETRY, and past the Resiliency retries the failure
//! goes back to the component, which on Kafka redelivers it until it is stored (reference
//! §2.5). A replayed event reaches the handler after later events of its user; the handlers
//! are written for that (each effect is idempotent and keyed by the event, not by arrival).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::delivery::{DaprSubscription, TopicReply, Verdict, verdict_for_db_error};
use crate::events::dead_letter_topic;

/// A service's handler for delivered events of its topics, called again for stored dead
/// letters. It must be idempotent: a dead letter may have been handled before.
pub trait Handler: Clone + Send + Sync + 'static {
    /// Handles one event of `topic`, given as the bytes the sidecar delivered.
    fn handle(&self, topic: &str, body: Bytes) -> impl Future<Output = Verdict> + Send;
}

/// The app route where `topic`'s dead letters arrive.
pub fn inbox_route(topic: &str) -> String {
    format!("/dead-letters/{topic}")
}

/// The subscriptions to `consumer`'s dead-letter topics of `topics` on `pubsub`.
pub fn inbox_subscriptions(consumer: &str, pubsub: &str, topics: &[&str]) -> Vec<DaprSubscription> {
    topics
        .iter()
        .map(|topic| {
            DaprSubscription::without_dead_letters(
                pubsub,
                &dead_letter_topic(consumer, topic),
                &inbox_route(topic),
            )
        })
        .collect()
}

/// Pacing of the retrier.
#[derive(Debug, Clone)]
pub struct RetrySettings {
    /// How often the table is looked at when nothing wakes the retrier.
    pub poll: Duration,
    /// The wait after the first failed attempt; doubled per attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Rows taken per pass.
    pub batch: i64,
    /// How long a taken row is hidden from other replicas' retriers.
    pub lease: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(600),
            batch: 20,
            lease: Duration::from_secs(300),
        }
    }
}

/// A service's dead letters: its inbox routes and its retrier share one wake-up.
#[derive(Clone)]
pub struct DeadLetters<H> {
    pool: PgPool,
    consumer: &'static str,
    handler: H,
    settings: RetrySettings,
    arrived: Arc<Notify>,
}

impl<H: Handler> DeadLetters<H> {
    pub fn new(pool: PgPool, consumer: &'static str, handler: H, settings: RetrySettings) -> Self {
        Self {
            pool,
            consumer,
            handler,
            settings,
            arrived: Arc::new(Notify::new()),
        }
    }

    /// The inbox routes for `topics` (to be put behind the app token).
    pub fn routes(&self, topics: &[&'static str]) -> Router {
        topics
            .iter()
            .fold(Router::new(), |router, &topic| {
                router.route(
                    &inbox_route(topic),
                    post(
                        move |State(this): State<Self>,
                              body: Result<Bytes, BytesRejection>| async move {
                            match body {
                                Ok(body) => this.receive(topic, body).await,
                                Err(rejection) => this.refuse(topic, &rejection.body_text()),
                            }
                        },
                    ),
                )
            })
            .with_state(self.clone())
    }

    /// Stores one dead letter. A database failure answers RETRY: the sidecar (and, on Kafka,
    /// the component) delivers it again until it is stored.
    pub async fn receive(&self, topic: &str, body: Bytes) -> TopicReply {
        match store(&self.pool, self.consumer, topic, &body).await {
            Ok(id) => {
                metrics::counter!("dead_letters_received_total", "consumer" => self.consumer)
                    .increment(1);
                tracing::warn!(
                    consumer = self.consumer,
                    topic,
                    dead_letter_id = id,
                    "dead letter stored; it will be retried"
                );
                self.arrived.notify_one();
                TopicReply::Success
            }
            Err(error) => match verdict_for_db_error(&error) {
                Verdict::Retry(_) => {
                    tracing::warn!(consumer = self.consumer, topic, %error, "cannot store a dead letter yet; asking for redelivery");
                    TopicReply::Retry
                }
                _ => self.refuse(topic, &error.to_string()),
            },
        }
    }

    /// A dead letter that can never be stored (unreadable, or refused by the database on every
    /// attempt): redelivering it would block its partition for ever, so it is dropped, logged
    /// and counted (`dead_letters_refused_total`).
    fn refuse(&self, topic: &str, reason: &str) -> TopicReply {
        metrics::counter!("dead_letters_refused_total", "consumer" => self.consumer).increment(1);
        tracing::error!(
            consumer = self.consumer,
            topic,
            reason,
            "a dead letter that cannot be stored was dropped"
        );
        TopicReply::Drop
    }

    /// Retries due rows until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let more = match self.pass().await {
                Ok(taken) => taken as i64 == self.settings.batch,
                Err(error) => {
                    tracing::warn!(consumer = self.consumer, %error, "dead-letter pass failed");
                    false
                }
            };
            self.record_gauges().await;
            if more {
                continue;
            }
            tokio::select! {
                () = self.arrived.notified() => {}
                () = tokio::time::sleep(self.settings.poll) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Takes the due rows (leasing them), hands each to the handler in arrival order and
    /// records the outcome. Returns how many rows it took.
    pub async fn pass(&self) -> sqlx::Result<usize> {
        let rows: Vec<(i64, String, Vec<u8>, i32)> = sqlx::query_as(
            "UPDATE dead_letters d \
             SET attempts = d.attempts + 1, last_seen = now(), \
                 next_attempt_at = now() + make_interval(secs => $3) \
             FROM (SELECT id FROM dead_letters \
                   WHERE consumer = $1 AND parked_at IS NULL AND next_attempt_at <= now() \
                   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) due \
             WHERE d.id = due.id \
             RETURNING d.id, d.topic, d.body, d.attempts",
        )
        .bind(self.consumer)
        .bind(self.settings.batch)
        .bind(self.settings.lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        let mut rows = rows;
        rows.sort_by_key(|row| row.0);
        let taken = rows.len();
        for (id, topic, body, attempts) in rows {
            let verdict = self.handler.handle(&topic, Bytes::from(body)).await;
            self.settle(id, attempts, verdict).await?;
        }
        Ok(taken)
    }

    async fn settle(&self, id: i64, attempts: i32, verdict: Verdict) -> sqlx::Result<()> {
        let consumer = self.consumer;
        match verdict {
            Verdict::Done => {
                sqlx::query("DELETE FROM dead_letters WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                metrics::counter!("dead_letters_recovered_total", "consumer" => consumer)
                    .increment(1);
                tracing::info!(
                    consumer,
                    dead_letter_id = id,
                    attempts,
                    "dead letter handled"
                );
            }
            Verdict::Retry(reason) => {
                let delay = crate::outbox::doubling_backoff(
                    self.settings.initial_backoff,
                    self.settings.max_backoff,
                    attempts,
                );
                sqlx::query(
                    "UPDATE dead_letters SET reason = $2, \
                     next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                )
                .bind(id)
                .bind(&reason)
                .bind(delay.as_secs_f64())
                .execute(&self.pool)
                .await?;
                tracing::warn!(consumer, dead_letter_id = id, attempts, %reason, ?delay, "dead letter still failing; will retry");
            }
            Verdict::Drop(reason) => {
                sqlx::query("UPDATE dead_letters SET reason = $2, parked_at = now() WHERE id = $1")
                    .bind(id)
                    .bind(&reason)
                    .execute(&self.pool)
                    .await?;
                metrics::counter!("dead_letters_parked_total", "consumer" => consumer).increment(1);
                tracing::error!(consumer, dead_letter_id = id, %reason, "dead letter refused for good: parked (see `{consumer} dead-letters list`)");
            }
        }
        Ok(())
    }

    async fn record_gauges(&self) {
        let counts: sqlx::Result<(i64, i64)> = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE parked_at IS NULL), count(*) FILTER (WHERE parked_at IS NOT NULL) \
             FROM dead_letters WHERE consumer = $1",
        )
        .bind(self.consumer)
        .fetch_one(&self.pool)
        .await;
        if let Ok((waiting, parked)) = counts {
            metrics::gauge!("dead_letters_waiting", "consumer" => self.consumer)
                .set(waiting as f64);
            metrics::gauge!("dead_letters_parked", "consumer" => self.consumer).set(parked as f64);
        }
    }
}

/// The dedupe key of a dead letter: its CloudEvent id when that is a short printable string,
/// else a hash (of the id, or of the bytes when there is none). Whatever a publisher put in
/// the id, the key always fits the unique index and a text column.
fn message_key(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct WithId {
        id: String,
    }
    match serde_json::from_slice::<WithId>(body) {
        Ok(envelope)
            if !envelope.id.is_empty()
                && envelope.id.len() <= 200
                && !envelope.id.chars().any(char::is_control) =>
        {
            envelope.id
        }
        Ok(envelope) if !envelope.id.is_empty() => {
            format!("sha256-id:{:x}", Sha256::digest(envelope.id.as_bytes()))
        }
        _ => format!("sha256:{:x}", Sha256::digest(body)),
    }
}

/// Stores a dead letter, or counts another arrival of one already stored. Returns its id.
pub async fn store(pool: &PgPool, consumer: &str, topic: &str, body: &[u8]) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO dead_letters (consumer, topic, message_key, body) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer, topic, message_key) DO UPDATE \
         SET arrivals = dead_letters.arrivals + 1, last_seen = now() \
         RETURNING id",
    )
    .bind(consumer)
    .bind(topic)
    .bind(message_key(body))
    .bind(body)
    .fetch_one(pool)
    .await
}

/// One row, as `<service> dead-letters list` prints it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub topic: String,
    pub message_key: String,
    pub reason: Option<String>,
    pub attempts: i32,
    pub arrivals: i32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub parked_at: Option<DateTime<Utc>>,
    /// The event as delivered (printed as text, lossy for bytes that are not UTF-8).
    #[serde(serialize_with = "as_text")]
    pub event: Vec<u8>,
}

fn as_text<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(bytes))
}

/// `consumer`'s dead letters, oldest first: waiting and parked.
pub async fn list(pool: &PgPool, consumer: &str) -> sqlx::Result<Vec<DeadLetter>> {
    sqlx::query_as(
        "SELECT id, topic, message_key, reason, attempts, arrivals, first_seen, last_seen, \
                next_attempt_at, parked_at, body AS event \
         FROM dead_letters WHERE consumer = $1 ORDER BY id",
    )
    .bind(consumer)
    .fetch_all(pool)
    .await
}

/// Puts rows (all of `consumer`'s with `None`) back in line for an attempt now, parked or not.
pub async fn replay(pool: &PgPool, consumer: &str, id: Option<i64>) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE dead_letters SET parked_at = NULL, attempts = 0, next_attempt_at = now() \
         WHERE consumer = $1 AND ($2::bigint IS NULL OR id = $2)",
    )
    .bind(consumer)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Deletes rows (all of `consumer`'s parked ones with `None`): their events are given up.
/// A single id is deleted whether parked or not.
pub async fn discard(pool: &PgPool, consumer: &str, id: Option<i64>) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM dead_letters WHERE consumer = $1 \
         AND (($2::bigint IS NULL AND parked_at IS NOT NULL) OR id = $2)",
    )
    .bind(consumer)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected())
}

/// The usage line of the operator command.
pub fn usage(consumer: &str) -> String {
    format!("usage: {consumer} dead-letters list | replay <id|all> | discard <id|all>")
}

/// The main of a service with a dead-letter inbox: `<service> [serve]` runs `serve`;
/// `<service> dead-letters list|replay|discard …` runs [`command`]; anything else is refused
/// with the usage.
pub async fn serve_or_command(
    service: &'static str,
    serve: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve.await,
        Some("dead-letters") => command(service, &args[1..]).await,
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; usage: {service} [serve|dead-letters]")
        }
    }
}

/// `<consumer> dead-letters list | replay <id|all> | discard <id|all>`; needs only
/// `DATABASE_URL`. `args` are the words after `dead-letters`.
pub async fn command(consumer: &str, args: &[String]) -> anyhow::Result<()> {
    let pool = crate::db::operator_pool().await?;
    let target =
        |arg: Option<&String>| crate::db::row_target(arg.map(String::as_str), &usage(consumer));
    match args.first().map(String::as_str) {
        Some("list") => {
            for row in list(&pool, consumer).await? {
                println!("{}", serde_json::to_string(&row)?);
            }
        }
        Some("replay") => {
            let replayed = replay(&pool, consumer, target(args.get(1))?).await?;
            println!("{replayed} dead letter(s) will be retried now");
        }
        Some("discard") => {
            let discarded = discard(&pool, consumer, target(args.get(1))?).await?;
            println!("discarded {discarded} dead letter(s)");
        }
        _ => anyhow::bail!(usage(consumer)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_cloudevent_is_keyed_by_its_id_and_anything_else_by_its_bytes() {
        assert_eq!(message_key(br#"{"id":"e-1","data":{}}"#), "e-1");
        let hashed = message_key(b"not json");
        assert!(hashed.starts_with("sha256:") && hashed.len() == 7 + 64);
        assert_eq!(hashed, message_key(b"not json"));
        assert_ne!(hashed, message_key(b"not json either"));
        let long = format!(r#"{{"id":"{}"}}"#, "x".repeat(5000));
        assert!(message_key(long.as_bytes()).starts_with("sha256-id:"));
        assert!(message_key(br#"{"id":"a\u0000b"}"#).starts_with("sha256-id:"));
    }

    #[test]
    fn every_inbox_subscription_is_the_consumers_own_dlq_without_a_dlq_of_its_own() {
        let subs = inbox_subscriptions("audit", "pubsub", &["task-created", "task-deleted"]);
        assert_eq!(subs[0].topic, "audit-task-created-dlq");
        assert_eq!(subs[0].route, "/dead-letters/task-created");
        assert!(subs.iter().all(|s| s.dead_letter_topic.is_none()));
        let json = serde_json::to_value(&subs[1]).unwrap();
        assert!(json.get("deadLetterTopic").is_none(), "{json}");
    }
}
