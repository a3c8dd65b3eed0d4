//! How deliveries fail as daprd's fail (docs/dapr-behaviour.md, "Delivery"): an app that is down
//! uses up retries unless health checks paused it; an inbound timeout bounds each attempt; an
//! open circuit breaker refuses deliveries without calling the app and dead-letters them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::delivery::{subscriber_with_dlq, wait_for};
use crate::helpers::*;

/// No health checks (daprd's default): the delivery to a stopped app fails like any other and
/// the message reaches its dead-letter topic once the retries are spent.
#[tokio::test]
async fn without_health_checks_an_app_that_is_down_uses_up_its_retries() {
    let (sidecar, mut test_app) = subscriber_with_dlq(|_, _| (200, String::new())).await;
    test_app.stop().await;
    publish_json(&sidecar, "audit", "orders", "", &json!({"n": 1})).await;
    eventually(
        Duration::from_secs(5),
        "the message dead-lettered",
        || async {
            sidecar
                .published()
                .iter()
                .any(|m| m.topic == "orders-dlq")
                .then_some(())
        },
    )
    .await;
    test_app.restart().await;
    // The dead letter reaches its own subscriber, the original is not delivered again.
    wait_for(&test_app, "/dlq", 1).await;
    assert!(test_app.received_at("/orders").is_empty());
    sidecar.shutdown().await;
}

/// An app subscribed to `orders` (dead letters to `orders-dlq`) behind a sidecar that retries
/// only as `yaml`'s Resiliency says.
async fn orders_subscriber_as_daprd(
    yaml: &str,
    responder: Responder,
) -> (dev_sidecar::DevSidecar, TestApp) {
    let test_app = TestApp::start(
        json!([subscription("orders", "/orders", Some("orders-dlq"))]),
        responder,
    )
    .await;
    let sidecar = start_sidecar_as_daprd(yaml, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    (sidecar, test_app)
}

fn resiliency(inbound: &str, policies: &str) -> String {
    format!(
        r#"{PUBSUB}---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: r
spec:
  policies:
{policies}
  targets:
    components:
      pubsub:
        inbound: {inbound}
"#
    )
}

/// `consecutiveFailures > 2`: the third failure opens the breaker; while open (here 1 s) each
/// delivery is refused without calling the app and goes to the dead-letter topic at once, for
/// any topic of the component; after the timeout one trial delivery is let through and its
/// success closes the breaker.
#[tokio::test]
async fn an_open_breaker_dead_letters_without_calling_the_app_then_half_opens() {
    let yaml = resiliency(
        "{circuitBreaker: cb}",
        "    circuitBreakers:\n      cb: {maxRequests: 1, timeout: 1s, trip: \"consecutiveFailures > 2\"}",
    );
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let fail = failing.clone();
    let responder: Responder = Arc::new(move |r, _| {
        if r.path == "/orders" && fail.load(std::sync::atomic::Ordering::Acquire) {
            (500, String::new())
        } else {
            (200, String::new())
        }
    });
    // Nothing subscribes to the dead-letter topic: deliveries of it would go through the same
    // breaker (one per component), so its successes would reset the count.
    let (sidecar, test_app) = orders_subscriber_as_daprd(&yaml, responder).await;
    let dead_letters = || {
        sidecar
            .published()
            .iter()
            .filter(|m| m.topic == "orders-dlq")
            .count()
    };

    // No retry policy: each failure is final, so three messages are three failures.
    for n in 0..3 {
        publish_json(&sidecar, "audit", "orders", "", &json!({"n": n})).await;
    }
    eventually(Duration::from_secs(5), "three dead letters", || async {
        (dead_letters() == 3).then_some(())
    })
    .await;
    assert_eq!(test_app.received_at("/orders").len(), 3);

    // Open: the app recovered, but the breaker refuses without asking it.
    failing.store(false, std::sync::atomic::Ordering::Release);
    publish_json(&sidecar, "audit", "orders", "", &json!({"n": 3})).await;
    eventually(Duration::from_secs(5), "a fourth dead letter", || async {
        (dead_letters() == 4).then_some(())
    })
    .await;
    assert_eq!(
        test_app.received_at("/orders").len(),
        3,
        "a delivery reached the app through an open breaker"
    );

    // After the 1 s timeout: half-open, the trial delivery succeeds and closes it.
    let mut n = 4;
    eventually(
        Duration::from_secs(5),
        "a delivery after the breaker's timeout",
        || {
            n += 1;
            let sidecar = &sidecar;
            let test_app = &test_app;
            async move {
                publish_json(sidecar, "audit", "orders", "", &json!({"n": n})).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                (test_app.received_at("/orders").len() > 3).then_some(())
            }
        },
    )
    .await;
    let dead_before = dead_letters();
    publish_json(&sidecar, "audit", "orders", "", &json!({"n": "closed"})).await;
    eventually(Duration::from_secs(5), "delivered while closed", || async {
        test_app
            .received_at("/orders")
            .iter()
            .any(|r| r.json()["data"]["n"] == "closed")
            .then_some(())
    })
    .await;
    assert_eq!(dead_letters(), dead_before);
    sidecar.shutdown().await;
}

/// The inbound target's `timeout` bounds each attempt: a handler slower than it fails the
/// attempt, and the retry policy decides what follows.
#[tokio::test]
async fn an_inbound_timeout_fails_a_slow_attempt_and_the_retry_succeeds() {
    let yaml = resiliency(
        "{timeout: quick, retry: again}",
        "    timeouts: {quick: 200ms}\n    retries:\n      again: {policy: constant, duration: 50ms, maxRetries: 3}",
    );
    let responder: Responder = Arc::new(|r, nth| {
        if r.path == "/orders" && nth == 1 {
            std::thread::sleep(Duration::from_millis(600));
        }
        (200, String::new())
    });
    let (sidecar, test_app) = orders_subscriber_as_daprd(&yaml, responder).await;
    publish_json(&sidecar, "audit", "orders", "", &json!({"n": 1})).await;
    let received = wait_for(&test_app, "/orders", 2).await;
    assert_eq!(received[0].body, received[1].body, "the same message again");
    assert!(sidecar.published().iter().all(|m| m.topic != "orders-dlq"));
    sidecar.shutdown().await;
}

/// Contract 8.3: while health checks say an app is unhealthy, invocations of it are refused.
#[tokio::test]
async fn invoking_an_unhealthy_app_is_refused() {
    let mut callee = TestApp::start(json!([]), reply(200, "{}")).await;
    let caller = TestApp::start(json!([]), reply(200, "{}")).await;
    let mut spec = app("notification", callee.port);
    spec.health = Some(quick_health());
    let sidecar = start_sidecar(PUBSUB, vec![spec, app("backend-api", caller.port)]).await;
    let invoke = || async {
        client()
            .post(url(
                &sidecar,
                "backend-api",
                "/v1.0/invoke/notification/method/ping",
            ))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    };
    eventually(Duration::from_secs(5), "the callee healthy", || async {
        (invoke().await.status() == 200).then_some(())
    })
    .await;
    stop_until_unhealthy(&sidecar, "notification-0", &mut callee).await;
    let refused = invoke().await;
    assert_eq!(refused.status(), 500);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("app is not in a healthy state"),
        "{body}"
    );
    sidecar.shutdown().await;
}

/// Outbound targets apply to publishes: a produce that fails (here: the broker's backlog is
/// full) is retried as the policy says before daprd answers 500, so a broker that recovers
/// within the budget costs the publisher latency, not an error.
#[tokio::test]
async fn an_outbound_retry_policy_retries_a_failed_publish_before_answering() {
    let yaml = format!(
        r#"{PUBSUB}---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: r
spec:
  policies:
    retries:
      publishing: {{policy: constant, duration: 100ms, maxRetries: 50}}
  targets:
    components:
      pubsub:
        outbound: {{retry: publishing}}
"#
    );
    let mut test_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let mut spec = app("audit", test_app.port);
    spec.health = Some(quick_health());
    let sidecar = start_sidecar_as_daprd(&yaml, vec![spec]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    sidecar.set_backlog_limit(1);
    stop_until_unhealthy(&sidecar, "audit-0", &mut test_app).await;
    publish_json(&sidecar, "audit", "orders", "", &json!(1)).await;
    // The backlog is full: this publish waits in its retries until the consumer is back.
    let pending = tokio::spawn({
        let url = url(&sidecar, "audit", "/v1.0/publish/pubsub/orders");
        async move { client().post(url).json(&json!(2)).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !pending.is_finished(),
        "the publish did not wait for a retry"
    );
    test_app.restart().await;
    assert_eq!(pending.await.unwrap().status(), 204);
    wait_for(&test_app, "/orders", 2).await;
    sidecar.shutdown().await;
}
