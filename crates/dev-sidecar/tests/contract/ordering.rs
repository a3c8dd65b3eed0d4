//! Ordering per partition key, consumer groups across apps and replicas, and app outages
//! (docs/dapr-behaviour.md §3.1–3.2; docs/contract.md §6 "when an app is down they wait").

use std::time::Duration;

use serde_json::json;

use crate::delivery::{subscriber_with_dlq, subscriber_with_dlq_and_health, wait_for};
use crate::helpers::*;

#[tokio::test]
async fn events_with_one_partition_key_arrive_in_publish_order_even_with_retries() {
    // Every 7th message asks for a retry once: a later message must still wait for it.
    let (sidecar, test_app) = subscriber_with_dlq(|r, nth| {
        let n = r.json()["data"]["n"].as_u64().unwrap();
        if n % 7 == 0 && nth == 1 {
            (200, r#"{"status":"RETRY"}"#.into())
        } else {
            (200, String::new())
        }
    })
    .await;
    for n in 0..200 {
        publish_json(
            &sidecar,
            "audit",
            "orders",
            "?metadata.partitionKey=user-1",
            &json!({"n": n}),
        )
        .await;
    }
    wait_for(&test_app, "/orders", 229).await;
    let mut order: Vec<u64> = test_app
        .received_at("/orders")
        .iter()
        .map(|r| r.json()["data"]["n"].as_u64().unwrap())
        .collect();
    order.dedup();
    assert_eq!(order, (0..200).collect::<Vec<u64>>());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn two_apps_subscribed_to_one_topic_each_receive_every_message_once() {
    let audit_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let ws_app = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let sidecar = start_sidecar(
        PUBSUB,
        vec![app("audit", audit_app.port), app("websocket", ws_app.port)],
    )
    .await;
    wait_subscribed(&sidecar, "audit", 1).await;
    wait_subscribed(&sidecar, "websocket", 1).await;
    for n in 0..20 {
        publish_json(&sidecar, "audit", "orders", "", &json!({"n": n})).await;
    }
    for test_app in [&audit_app, &ws_app] {
        let received = wait_for(test_app, "/orders", 20).await;
        let mut ids: Vec<_> = received.iter().map(|r| r.event_id().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 20);
    }
    sidecar.shutdown().await;
}

#[tokio::test]
async fn replicas_of_one_app_share_its_consumer_group() {
    let one = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let two = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let mut second = app("audit", two.port);
    second.instance = "audit-1".into();
    second.pod_name = Some("audit-1".into());
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", one.port), second]).await;
    eventually(
        Duration::from_secs(5),
        "both replicas subscribed",
        || async {
            (one.received_at("/dapr/subscribe").len() == 1
                && two.received_at("/dapr/subscribe").len() == 1)
                .then_some(())
        },
    )
    .await;
    wait_subscribed(&sidecar, "audit", 1).await;
    for n in 0..40 {
        publish_json(&sidecar, "audit", "orders", "", &json!({"n": n})).await;
    }
    eventually(
        Duration::from_secs(10),
        "40 deliveries in total",
        || async {
            (one.received_at("/orders").len() + two.received_at("/orders").len() >= 40)
                .then_some(())
        },
    )
    .await;
    let mut ids: Vec<_> = one
        .received_at("/orders")
        .iter()
        .chain(two.received_at("/orders").iter())
        .map(|r| r.event_id().unwrap())
        .collect();
    assert_eq!(ids.len(), 40);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "each message reached one replica once");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn messages_published_while_the_app_is_down_are_delivered_when_it_returns() {
    // With health checks on (as every taskfleet deployment has them), daprd stops delivering
    // to an unhealthy app: the messages wait instead of using up their retries.
    let (sidecar, mut test_app) =
        subscriber_with_dlq_and_health(|_, _| (200, String::new()), Some(quick_health())).await;
    stop_until_unhealthy(&sidecar, "audit-0", &mut test_app).await;
    for n in 0..10 {
        publish_json(
            &sidecar,
            "audit",
            "orders",
            "?metadata.partitionKey=u",
            &json!({"n": n}),
        )
        .await;
    }
    // Longer than the whole retry budget (3 attempts, 20 + 40 ms backoff): if an outage used
    // the budget, these messages would be dead-lettered by now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    test_app.restart().await;
    let received = wait_for(&test_app, "/orders", 10).await;
    let order: Vec<u64> = received
        .iter()
        .map(|r| r.json()["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(order, (0..10).collect::<Vec<u64>>());
    assert!(sidecar.published().iter().all(|m| m.topic != "orders-dlq"));
    sidecar.shutdown().await;
}

#[tokio::test]
async fn two_components_on_the_same_brokers_share_topics_like_pubsub_and_its_broadcast_twin() {
    let yaml = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - {name: brokers, value: "redpanda:9093"}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub-broadcast}
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - {name: brokers, value: "redpanda:9093"}
    - {name: consumerGroup, value: "{podName}"}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: elsewhere}
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - {name: brokers, value: "another-cluster:9093"}
"#;
    let mut broadcast = subscription("orders", "/orders", None);
    broadcast["pubsubname"] = "pubsub-broadcast".into();
    let mut other = subscription("orders", "/other", None);
    other["pubsubname"] = "elsewhere".into();
    let listener = TestApp::start(json!([broadcast, other]), reply(200, "")).await;
    let sidecar = start_sidecar(
        yaml,
        vec![
            app("websocket", listener.port),
            app("backend-api", closed_port()),
        ],
    )
    .await;
    wait_subscribed(&sidecar, "websocket", 2).await;
    publish_json(&sidecar, "backend-api", "orders", "", &json!({"n": 1})).await;
    let received = wait_for(&listener, "/orders", 1).await;
    assert_eq!(received[0].json()["data"], json!({"n": 1}));
    // A component on other brokers is another cluster: nothing arrives there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(listener.received_at("/other").is_empty());
    sidecar.shutdown().await;
}

/// Publishes `count` messages `{"n": 0..count}` on one partition key.
async fn publish_numbered(sidecar: &dev_sidecar::DevSidecar, count: usize) {
    for n in 0..count {
        let body = json!({"n": n});
        publish_json(
            sidecar,
            "audit",
            "orders",
            "?metadata.partitionKey=user-1",
            &body,
        )
        .await;
    }
}

#[tokio::test]
async fn acknowledged_messages_are_forgotten_beyond_the_retained_while_a_down_consumers_are_kept() {
    let retained = dev_sidecar::RETAINED_ACKNOWLEDGED as usize;
    let batch = retained + 100;
    let (sidecar, mut test_app) =
        subscriber_with_dlq_and_health(|_, _| (200, String::new()), Some(quick_health())).await;
    // One partition key, so every message lands in one partition.
    publish_numbered(&sidecar, batch).await;
    wait_for(&test_app, "/orders", batch).await;
    eventually(
        Duration::from_secs(5),
        "acknowledged messages forgotten",
        || async { (sidecar.retained_messages() == retained).then_some(()) },
    )
    .await;

    // The consumer is down: what it has not acknowledged stays until it returns.
    stop_until_unhealthy(&sidecar, "audit-0", &mut test_app).await;
    publish_numbered(&sidecar, batch).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        sidecar.retained_messages() >= batch,
        "{}",
        sidecar.retained_messages()
    );
    test_app.restart().await;
    wait_for(&test_app, "/orders", 2 * batch).await;
    eventually(
        Duration::from_secs(5),
        "forgotten once delivered",
        || async { (sidecar.retained_messages() == retained).then_some(()) },
    )
    .await;
    sidecar.shutdown().await;
}

/// Deliveries of `pubsub.redis`: Redis Streams run `concurrency` workers (default 10) over one
/// queue, so the next message reaches the app while a slow one is still being handled; with
/// `concurrency: "1"` it waits, as on a Kafka partition (docs/dapr-behaviour.md, "Delivery").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_streams_let_messages_overtake_unless_concurrency_is_one() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    for (concurrency, overtakes) in [(None, true), (Some("1"), false)] {
        let mut yaml = PUBSUB.replace("pubsub.in-memory", "pubsub.redis");
        if let Some(n) = concurrency {
            yaml = yaml.replace(
                "  metadata: []",
                &format!("  metadata:\n    - {{name: concurrency, value: \"{n}\"}}"),
            );
        }
        let first_done = Arc::new(AtomicBool::new(false));
        let second_saw_first_done = Arc::new(Mutex::new(None::<bool>));
        let (done, saw) = (first_done.clone(), second_saw_first_done.clone());
        let responder: Responder = Arc::new(move |r, _| {
            if r.path == "/orders" {
                if r.json()["data"]["n"] == 0 {
                    // A slow handler (it blocks one of the runtime's threads, not the others).
                    std::thread::sleep(Duration::from_millis(400));
                    done.store(true, Ordering::SeqCst);
                } else {
                    *saw.lock().unwrap() = Some(done.load(Ordering::SeqCst));
                }
            }
            (200, String::new())
        });
        let test_app =
            TestApp::start(json!([subscription("orders", "/orders", None)]), responder).await;
        let sidecar = start_sidecar(&yaml, vec![app("audit", test_app.port)]).await;
        wait_subscribed(&sidecar, "audit", 1).await;
        for n in 0..2 {
            publish_json(&sidecar, "audit", "orders", "", &json!({"n": n})).await;
        }
        wait_for(&test_app, "/orders", 2).await;
        let seen = second_saw_first_done
            .lock()
            .unwrap()
            .expect("the second message handled");
        assert_eq!(
            !seen,
            overtakes,
            "concurrency {concurrency:?}: the second message arrived {} the first was answered",
            if seen { "after" } else { "before" }
        );
        sidecar.shutdown().await;
    }
}
