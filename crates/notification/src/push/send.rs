//! Sending a fired reminder to the user's browsers as an encrypted push message (RFC 8030
//! delivery, RFC 8291 `aes128gcm` encryption, RFC 8292 VAPID).
//!
//! notification subscribes to its own `reminder-due` topic for this: a push that fails for a
//! while is redelivered by the sidecar and, past its retries, kept in the dead-letter table, like
//! every other event a service consumes. A browser whose push service answers 404 or 410 has
//! unsubscribed: its subscription is deleted. The message carries the task id as `Topic`, so a
//! push service keeps one pending message per task, and the service worker shows it under a tag
//! of the task, so a redelivery replaces the notification instead of adding one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::delivery::Verdict;
use common::events::{CloudEvent, EventType, SCHEMA_VERSION};
use common::reminders::ReminderDueEvent;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::Push;
use super::subscriptions::internal_ip;

/// The consumer name of the processed-event records of pushes.
pub const CONSUMER: &str = "notification-push";
/// How long a push service keeps a message for a browser that is offline, and the age past
/// which a reminder is not pushed at all (after an outage it would only arrive late).
pub const TTL: Duration = Duration::from_secs(3600);
/// One push request's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What one push service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Accepted (201).
    Delivered,
    /// The subscription is gone (404, 410): forget it.
    Gone,
    /// Refused for good (another 4xx: a message it will never take).
    Refused(u16),
    /// Not now (429, 5xx, no answer): try the event again later.
    Transient(String),
}

/// The HTTP client for push services: no redirects (an endpoint must not lead elsewhere), a
/// time limit per request and, unless `allow_internal` (`WEB_PUSH_ALLOW_INSECURE_ENDPOINTS`),
/// only public addresses ([`PublicAddresses`]), connected to directly: through an HTTP proxy of
/// the environment, the proxy would resolve the endpoint's name and the check would not apply.
pub fn client(allow_internal: bool) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT);
    let builder = if allow_internal {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicAddresses)).no_proxy()
    };
    builder.build().unwrap_or_else(|error| {
        // Building fails only without TLS roots or a resolver; pushes would then fail alike.
        tracing::error!(%error, "cannot build the push client");
        reqwest::Client::new()
    })
}

/// Resolves a push service's name to its public addresses only. An endpoint's host is checked
/// when the browser registers it, but its name is the registrant's: it may resolve to this
/// machine or a private network then or later. The addresses connected to are checked here, at
/// every push. (A literal address in an endpoint is never resolved; registration refuses the
/// internal ones.)
#[derive(Debug)]
struct PublicAddresses;

/// A name that resolves to internal addresses only: not a push service.
#[derive(Debug)]
struct InternalOnly(String);

impl std::fmt::Display for InternalOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves to no public address", self.0)
    }
}

impl std::error::Error for InternalOnly {}

impl reqwest::dns::Resolve for PublicAddresses {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|address| !internal_ip(address.ip()))
                .collect();
            if public.is_empty() {
                return Err(InternalOnly(name).into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `error` (of a push request) is [`InternalOnly`].
fn internal_only(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<InternalOnly>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The JSON the service worker reads.
fn payload(event: &ReminderDueEvent) -> Vec<u8> {
    let task_id = event.data.task_id;
    json!({
        "type": "reminder.due",
        "event_id": event.event_id,
        "task_id": task_id,
        "notification_id": event.data.notification_id,
        "title": event.data.title,
        "reminder_at": event.data.reminder_at,
        "due_date": event.data.due_date,
        "tag": format!("reminder-{task_id}"),
        "url": format!("/tasks?task={task_id}"),
    })
    .to_string()
    .into_bytes()
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    endpoint: String,
    p256dh: String,
    auth: String,
}

/// Pushes one `reminder-due` event (a delivery, or a dead letter retried) to every browser of
/// its user: at most once per event once every push service has taken it.
pub async fn push_reminder(pool: &PgPool, push: &Push, body: &[u8]) -> Verdict {
    let envelope: CloudEvent<ReminderDueEvent> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(error) => return Verdict::Drop(format!("not a reminder-due event: {error}")),
    };
    let event = envelope.data;
    if event.event_type != EventType::ReminderDue || event.schema_version != SCHEMA_VERSION {
        return Verdict::Drop("not a reminder-due event of this schema version".to_owned());
    }
    let Some(key) = push.key() else {
        return Verdict::Done;
    };
    let age = Utc::now() - event.timestamp;
    if age.to_std().is_ok_and(|age| age > TTL) {
        tracing::info!(event_id = %event.event_id, "reminder too old to push");
        return Verdict::Done;
    }
    match outcome(pool, push, key, &event).await {
        Ok(verdict) => verdict,
        Err(error) => common::delivery::verdict_for_db_error(&error),
    }
}

async fn outcome(
    pool: &PgPool,
    push: &Push,
    key: &super::VapidKey,
    event: &ReminderDueEvent,
) -> sqlx::Result<Verdict> {
    // One read: the user's browsers, none once the event was pushed. A user without browsers
    // (most users) costs no write: nothing was pushed, so there is nothing to remember, and a
    // redelivery after a browser subscribed meanwhile reaches that browser, which never had it.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM processed_events WHERE consumer = $2 AND event_id = $3)",
    )
    .bind(&event.user_id)
    .bind(CONSUMER)
    .bind(event.event_id)
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(Verdict::Done);
    }
    let body = payload(event);
    let topic = event.data.task_id.simple().to_string();
    let sends = rows.iter().map(|row| async {
        let sent = send(push, key, row, &body, &topic).await;
        (row.id, sent)
    });
    let mut transient = None;
    for (id, sent) in futures::future::join_all(sends).await {
        match sent {
            Sent::Delivered => metrics::counter!("push_messages_sent_total").increment(1),
            Sent::Gone => {
                sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                    .bind(id)
                    .execute(pool)
                    .await?;
                tracing::info!(subscription = %id, "push subscription ended by its push service");
            }
            Sent::Refused(status) => {
                tracing::warn!(subscription = %id, status, "push service refused the message");
            }
            Sent::Transient(problem) => transient = Some(problem),
        }
    }
    if let Some(problem) = transient {
        return Ok(Verdict::Retry(format!(
            "a push service is not available: {problem}"
        )));
    }
    sqlx::query(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(CONSUMER)
    .bind(event.event_id)
    .execute(pool)
    .await?;
    Ok(Verdict::Done)
}

async fn send(push: &Push, key: &super::VapidKey, row: &Row, body: &[u8], topic: &str) -> Sent {
    let Ok(endpoint) = reqwest::Url::parse(&row.endpoint) else {
        return Sent::Gone;
    };
    let decoded = |value: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value)
    };
    let (Ok(point), Ok(auth)) = (decoded(&row.p256dh), decoded(&row.auth)) else {
        return Sent::Gone;
    };
    let (Ok(ua_public), Ok(auth)) = (
        web_push_native::p256::PublicKey::from_sec1_bytes(&point),
        <[u8; 16]>::try_from(auth.as_slice()),
    ) else {
        return Sent::Gone;
    };
    let encrypted = match web_push_native::encrypt(body.to_vec(), &ua_public, &auth.into()) {
        Ok(encrypted) => encrypted,
        Err(error) => {
            tracing::error!(%error, "cannot encrypt a push message");
            return Sent::Refused(0);
        }
    };
    let authorization =
        match key.authorization(&endpoint, &push.settings.subject, Utc::now().timestamp()) {
            Ok(header) => header,
            Err(error) => return Sent::Transient(format!("cannot sign: {error}")),
        };
    let response = push
        .client
        .post(endpoint)
        .header("TTL", TTL.as_secs())
        .header("Urgency", "high")
        .header("Topic", topic)
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("Authorization", authorization)
        .body(encrypted)
        .send()
        .await;
    match response {
        Ok(response) => match response.status().as_u16() {
            200..=299 => Sent::Delivered,
            404 | 410 => Sent::Gone,
            429 | 500..=599 => Sent::Transient(format!("answered {}", response.status())),
            status => Sent::Refused(status),
        },
        // Its name leads inside: the subscription is no push service's, and is forgotten.
        Err(error) if internal_only(&error) => {
            tracing::warn!(%error, "a push endpoint resolves to internal addresses only");
            Sent::Gone
        }
        Err(error) => Sent::Transient(error.to_string()),
    }
}
