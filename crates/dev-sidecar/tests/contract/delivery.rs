//! Delivery to subscribers: request shape (docs/dapr-behaviour.md §2.3), reply table (2.4),
//! retries and dead letters (2.5), ordering and consumer groups (3.1–3.2), app outages.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

/// Subscribed to `orders` (route `/orders`, dead letters to `orders-dlq`) and to `orders-dlq`
/// (route `/dlq`, always 200). `orders` replies come from `on_orders`.
pub async fn subscriber_with_dlq(
    on_orders: impl Fn(&Recorded, usize) -> (u16, String) + Send + Sync + 'static,
) -> (dev_sidecar::DevSidecar, TestApp) {
    subscriber_with_dlq_and_health(on_orders, None).await
}

/// [`subscriber_with_dlq`] with the sidecar's app health checks on.
pub async fn subscriber_with_dlq_and_health(
    on_orders: impl Fn(&Recorded, usize) -> (u16, String) + Send + Sync + 'static,
    health: Option<dev_sidecar::AppHealth>,
) -> (dev_sidecar::DevSidecar, TestApp) {
    let responder: Responder = Arc::new(move |r, nth| {
        if r.path == "/dlq" {
            (200, String::new())
        } else {
            on_orders(r, nth)
        }
    });
    let test_app = TestApp::start(
        json!([
            subscription("orders", "/orders", Some("orders-dlq")),
            subscription("orders-dlq", "/dlq", None)
        ]),
        responder,
    )
    .await;
    let mut spec = app("audit", test_app.port);
    spec.health = health;
    let sidecar = start_sidecar(PUBSUB, vec![spec]).await;
    wait_subscribed(&sidecar, "audit", 2).await;
    (sidecar, test_app)
}

pub async fn wait_for(test_app: &TestApp, path: &str, count: usize) -> Vec<Recorded> {
    eventually(
        Duration::from_secs(10),
        &format!("{count} requests at {path}"),
        || async {
            let received = test_app.received_at(path);
            (received.len() >= count).then_some(received)
        },
    )
    .await
}

fn attempts_of(test_app: &TestApp, path: &str, id: &str) -> usize {
    test_app
        .received_at(path)
        .iter()
        .filter(|r| r.event_id().as_deref() == Some(id))
        .count()
}

/// Publishes two messages on one partition key; once the second arrives, the first has been
/// fully handled, so its attempt count is final.
async fn assert_delivered_once_when_replying(status: u16, body: &'static str) {
    let (sidecar, test_app) = subscriber_with_dlq(move |_, _| (status, body.to_owned())).await;
    let q = "?metadata.partitionKey=k&metadata.cloudevent.id=";
    publish_json(&sidecar, "audit", "orders", &format!("{q}first"), &json!(1)).await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        &format!("{q}second"),
        &json!(2),
    )
    .await;
    eventually(Duration::from_secs(5), "second delivery", || async {
        (attempts_of(&test_app, "/orders", "second") > 0).then_some(())
    })
    .await;
    assert_eq!(
        attempts_of(&test_app, "/orders", "first"),
        1,
        "reply {status} {body:?}"
    );
    assert!(test_app.received_at("/dlq").is_empty());
    sidecar.shutdown().await;
}

/// Publishes one message and waits for it on the dead-letter topic; returns the attempts.
async fn attempts_before_dead_letter(status: u16, body: &'static str) -> usize {
    let (sidecar, test_app) = subscriber_with_dlq(move |_, _| (status, body.to_owned())).await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        "?metadata.cloudevent.id=m1",
        &json!({"x": 1}),
    )
    .await;
    let dead = wait_for(&test_app, "/dlq", 1).await;
    let original = sidecar.published()[0].envelope.clone();
    assert_eq!(
        dead[0].json(),
        original,
        "the dead letter is the original envelope"
    );
    let attempts = attempts_of(&test_app, "/orders", "m1");
    sidecar.shutdown().await;
    attempts
}

#[tokio::test]
async fn a_subscriber_receives_the_envelope_unchanged_with_dapr_headers() {
    let test_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let mut audit = app("audit", test_app.port);
    audit.app_api_token = Some("s3cret".into());
    let sidecar = start_sidecar(PUBSUB, vec![audit, app("backend-api", closed_port())]).await;
    wait_subscribed(&sidecar, "audit", 1).await;

    let subscribe = test_app.received_at("/dapr/subscribe");
    assert_eq!(subscribe[0].header("dapr-app-id").as_deref(), Some("audit"));
    assert_eq!(
        subscribe[0].header("dapr-api-token").as_deref(),
        Some("s3cret")
    );

    publish_json(
        &sidecar,
        "backend-api",
        "orders",
        "?metadata.partitionKey=user-1&metadata.custom=abc",
        &json!({"n": 1}),
    )
    .await;
    let delivered = wait_for(&test_app, "/orders", 1).await;
    let d = &delivered[0];
    let envelope = sidecar.published()[0].envelope.clone();
    assert_eq!(d.json(), envelope);
    assert_eq!(d.method, "POST");
    assert_eq!(
        d.header("content-type").as_deref(),
        Some("application/cloudevents+json")
    );
    assert_eq!(d.header("pubsubname").as_deref(), Some("pubsub"));
    assert_eq!(d.header("__topic").as_deref(), Some("orders"));
    assert_eq!(d.header("__offset").as_deref(), Some("0"));
    assert!(d.header("__partition").unwrap().parse::<u32>().unwrap() < 4);
    assert!(d.header("__timestamp").unwrap().parse::<i64>().unwrap() > 1_600_000_000_000);
    assert_eq!(d.header("__key").as_deref(), Some("user-1"));
    assert_eq!(d.header("partitionkey").as_deref(), Some("user-1"));
    assert_eq!(d.header("custom").as_deref(), Some("abc"));
    assert_eq!(
        d.header("traceparent").as_deref(),
        envelope["traceparent"].as_str()
    );
    assert_eq!(d.header("dapr-api-token").as_deref(), Some("s3cret"));
    assert_eq!(d.json()["source"], "backend-api");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn an_empty_200_reply_is_success_and_the_message_is_delivered_once() {
    assert_delivered_once_when_replying(200, "").await;
}

#[tokio::test]
async fn a_success_status_reply_is_delivered_once() {
    assert_delivered_once_when_replying(200, r#"{"status":"SUCCESS"}"#).await;
}

#[tokio::test]
async fn a_non_json_or_status_less_2xx_reply_is_success() {
    assert_delivered_once_when_replying(200, "ok").await;
    assert_delivered_once_when_replying(202, r#"{"success":true}"#).await;
}

#[tokio::test]
async fn a_retry_reply_is_redelivered_then_dead_lettered_after_max_retries() {
    let attempts = attempts_before_dead_letter(200, r#"{"status":"RETRY"}"#).await;
    assert_eq!(attempts, 1 + fast_policy().max_retries as usize);
}

#[tokio::test]
async fn a_drop_reply_goes_to_the_dead_letter_topic_without_retry() {
    assert_eq!(
        attempts_before_dead_letter(200, r#"{"status":"DROP"}"#).await,
        1
    );
}

#[tokio::test]
async fn a_404_reply_drops_the_message_to_the_dead_letter_topic() {
    assert_eq!(attempts_before_dead_letter(404, "").await, 1);
}

#[tokio::test]
async fn a_422_reply_is_retried() {
    let attempts = attempts_before_dead_letter(422, "").await;
    assert_eq!(attempts, 1 + fast_policy().max_retries as usize);
}

#[tokio::test]
async fn a_lowercase_success_status_is_retried() {
    let attempts = attempts_before_dead_letter(200, r#"{"status":"success"}"#).await;
    assert_eq!(attempts, 1 + fast_policy().max_retries as usize);
}

#[tokio::test]
async fn a_500_reply_is_retried_and_a_later_success_acks_the_message() {
    let (sidecar, test_app) = subscriber_with_dlq(|_, nth| {
        if nth == 1 {
            (500, "boom".into())
        } else {
            (200, String::new())
        }
    })
    .await;
    let q = "?metadata.partitionKey=k&metadata.cloudevent.id=";
    publish_json(&sidecar, "audit", "orders", &format!("{q}first"), &json!(1)).await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        &format!("{q}second"),
        &json!(2),
    )
    .await;
    eventually(Duration::from_secs(5), "second acked", || async {
        (attempts_of(&test_app, "/orders", "second") == 2).then_some(())
    })
    .await;
    assert_eq!(attempts_of(&test_app, "/orders", "first"), 2);
    assert!(sidecar.published().iter().all(|m| m.topic != "orders-dlq"));
    sidecar.shutdown().await;
}

#[tokio::test]
async fn exhausted_retries_without_a_dead_letter_topic_drop_the_message_and_the_partition_moves_on()
{
    let test_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        Arc::new(|r: &Recorded, _| {
            if r.event_id().as_deref() == Some("poison") {
                (500, String::new())
            } else {
                (200, String::new())
            }
        }),
    )
    .await;
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    let q = "?metadata.partitionKey=k&metadata.cloudevent.id=";
    publish_json(
        &sidecar,
        "audit",
        "orders",
        &format!("{q}poison"),
        &json!(1),
    )
    .await;
    publish_json(&sidecar, "audit", "orders", &format!("{q}next"), &json!(2)).await;
    eventually(Duration::from_secs(5), "next delivered", || async {
        (attempts_of(&test_app, "/orders", "next") == 1).then_some(())
    })
    .await;
    assert_eq!(attempts_of(&test_app, "/orders", "poison"), 3);
    assert_eq!(sidecar.published().len(), 2, "nothing was dead-lettered");
    sidecar.shutdown().await;
}

/// `orders` (dead letters to `orders-dlq`, route `/dlq`) with the sidecar retrying as the
/// resources' Resiliency says; `/orders` always answers RETRY.
async fn always_retry_as_daprd(yaml: &str) -> (dev_sidecar::DevSidecar, TestApp) {
    let test_app = TestApp::start(
        json!([
            subscription("orders", "/orders", Some("orders-dlq")),
            subscription("orders-dlq", "/dlq", None)
        ]),
        Arc::new(|r: &Recorded, _| {
            if r.path == "/dlq" {
                (200, String::new())
            } else {
                (200, r#"{"status":"RETRY"}"#.to_owned())
            }
        }),
    )
    .await;
    let sidecar = start_sidecar_as_daprd(yaml, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 2).await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        "?metadata.cloudevent.id=m1",
        &json!(1),
    )
    .await;
    wait_for(&test_app, "/dlq", 1).await;
    (sidecar, test_app)
}

/// Reference §2.5 step 1-2 (daprd `pkg/runtime/subscription`, `pkg/resiliency`): with no
/// Resiliency policy a delivery gets one attempt; its failure goes straight to the DLQ.
#[tokio::test]
async fn without_a_resiliency_policy_a_failed_delivery_is_not_retried() {
    let (sidecar, test_app) = always_retry_as_daprd(PUBSUB).await;
    assert_eq!(attempts_of(&test_app, "/orders", "m1"), 1);
    sidecar.shutdown().await;
}

/// Reference §9.3: the component's named `inbound` target picks the retry policy.
#[tokio::test]
async fn the_components_inbound_retry_policy_sets_the_attempts_before_the_dead_letter() {
    let yaml = format!(
        "{PUBSUB}---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {{name: r}}
spec:
  policies:
    retries:
      quick: {{policy: constant, duration: 10ms, maxRetries: 3}}
      DefaultRetryPolicy: {{policy: constant, duration: 10ms, maxRetries: 7}}
  targets:
    components:
      pubsub: {{inbound: {{retry: quick}}}}
"
    );
    let (sidecar, test_app) = always_retry_as_daprd(&yaml).await;
    assert_eq!(attempts_of(&test_app, "/orders", "m1"), 4);
    sidecar.shutdown().await;
}

/// Reference §2.5 step 3: on Kafka (`consumeRetryEnabled` true by default for pub/sub), a
/// failure with no dead-letter topic goes back to the component, which redelivers the message
/// every `backOffDuration` for ever; the partition waits behind it. Nothing is lost.
#[tokio::test]
async fn on_kafka_a_failed_message_without_a_dead_letter_topic_is_redelivered_until_it_succeeds() {
    let kafka = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - {name: brokers, value: "localhost:9092"}
    - {name: backOffDuration, value: 20ms}
"#;
    let test_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        Arc::new(|r: &Recorded, nth| {
            if r.event_id().as_deref() == Some("first") && nth < 5 {
                (500, String::new())
            } else {
                (200, String::new())
            }
        }),
    )
    .await;
    let sidecar = start_sidecar_as_daprd(kafka, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    let q = "?metadata.partitionKey=k&metadata.cloudevent.id=";
    publish_json(&sidecar, "audit", "orders", &format!("{q}first"), &json!(1)).await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        &format!("{q}second"),
        &json!(2),
    )
    .await;
    // Four failures, the fifth attempt succeeds, and only then does `second` go out.
    let received = wait_for(&test_app, "/orders", 6).await;
    let order: Vec<String> = received.iter().filter_map(Recorded::event_id).collect();
    assert_eq!(
        order,
        ["first", "first", "first", "first", "first", "second"]
    );
    sidecar.shutdown().await;
}

/// The broker keeps messages in memory, so it bounds what its consumers have not taken: past
/// the bound a publish fails as a Kafka producer's does when the broker cannot take more (daprd:
/// 500 `ERR_PUBSUB_PUBLISH_MESSAGE`, docs/dapr-behaviour.md §1.4), and succeeds again once they
/// caught up.
#[tokio::test]
async fn past_the_backlog_bound_publishes_are_refused_until_the_consumer_catches_up() {
    let mut test_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let mut spec = app("audit", test_app.port);
    spec.health = Some(quick_health());
    let sidecar = start_sidecar(PUBSUB, vec![spec]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    sidecar.set_backlog_limit(3);
    // Health checks pause deliveries to the stopped app, so the messages wait in the broker.
    stop_until_unhealthy(&sidecar, "audit-0", &mut test_app).await;
    for n in 0..3 {
        publish_json(&sidecar, "audit", "orders", "", &json!(n)).await;
    }
    let publish = || async {
        client()
            .post(url(&sidecar, "audit", "/v1.0/publish/pubsub/orders"))
            .json(&json!("more"))
            .send()
            .await
            .unwrap()
    };
    let refused = publish().await;
    assert_eq!(refused.status(), 500);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_PUBSUB_PUBLISH_MESSAGE");
    test_app.restart().await;
    wait_for(&test_app, "/orders", 3).await;
    eventually(
        Duration::from_secs(5),
        "a publish accepted again",
        || async { (publish().await.status() == 204).then_some(()) },
    )
    .await;
    sidecar.shutdown().await;
}
