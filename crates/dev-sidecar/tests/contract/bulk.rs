//! Bulk subscribe (docs/dapr-behaviour.md §2.6), pinned to daprd's source as read at
//! dapr/dapr d8450742 and components-contrib c23900d2: Kafka's own batching
//! (`common/component/kafka/consumer.go` `ConsumeClaim`, `flushBulkMessages`), the default bulk
//! subscriber of other components (`pkg/runtime/pubsub/default_bulksub.go`), the request
//! (`pkg/runtime/pubsub/bulksubscribe_events.go`) and the reading of the reply
//! (`pkg/runtime/subscription/postman/http/http.go` `DeliverBulk`, `bulkresiliency.go`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::delivery::wait_for;
use crate::helpers::*;

const KAFKA: &str = r#"
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

fn bulk_subscription(
    topic: &str,
    route: &str,
    dead_letter: Option<&str>,
    count: u64,
    await_ms: u64,
) -> Value {
    let mut sub = subscription(topic, route, dead_letter);
    sub["bulkSubscribe"] =
        json!({"enabled": true, "maxMessagesCount": count, "maxAwaitDurationMs": await_ms});
    sub
}

/// The `n` of each entry's event data, in order.
fn ns(request: &Recorded) -> Vec<u64> {
    request.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["data"]["n"].as_u64().unwrap())
        .collect()
}

/// A 2xx bulk reply giving each entry the status `status_of(n, attempt)` (`None`: left out),
/// where `attempt` counts the requests that carried an entry with that `n`.
fn statuses(
    status_of: impl Fn(u64, usize) -> Option<&'static str> + Send + Sync + 'static,
) -> Responder {
    let seen = Arc::new(std::sync::Mutex::new(
        std::collections::HashMap::<u64, usize>::new(),
    ));
    Arc::new(move |r: &Recorded, _| {
        if r.path == "/dlq" {
            return (200, String::new());
        }
        let mut seen = seen.lock().unwrap();
        let statuses: Vec<Value> = r.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|entry| {
                let n = entry["event"]["data"]["n"].as_u64().unwrap();
                let attempt = seen.entry(n).or_default();
                *attempt += 1;
                status_of(n, *attempt).map(|s| json!({"entryId": entry["entryId"], "status": s}))
            })
            .collect();
        (200, json!({"statuses": statuses}).to_string())
    })
}

/// The bulk requests at `/orders` once they carried `entries` entries in all.
async fn wait_for_entries(test_app: &TestApp, entries: usize) -> Vec<Recorded> {
    eventually(
        std::time::Duration::from_secs(10),
        &format!("{entries} entries"),
        || async {
            let received = test_app.received_at("/orders");
            (received.iter().map(|r| ns(r).len()).sum::<usize>() >= entries).then_some(received)
        },
    )
    .await
}

async fn publish_n(sidecar: &dev_sidecar::DevSidecar, range: std::ops::Range<u64>) {
    for n in range {
        publish_json(
            sidecar,
            "audit",
            "orders",
            "?metadata.partitionKey=k",
            &json!({"n": n}),
        )
        .await;
    }
}

/// A Kafka bulk subscriber of `orders` (batches of `count`, flushed by count: the window is
/// long) with dead letters to `orders-dlq`, which the same app takes at `/dlq`; `n` messages
/// published. Returns the `n` of every dead letter, sorted, once `dead` of them arrived.
async fn dead_letters_of_bulk_subscriber(
    responder: Responder,
    count: u64,
    n: u64,
    dead: usize,
) -> (dev_sidecar::DevSidecar, TestApp, Vec<u64>) {
    let test_app = TestApp::start(
        json!([
            bulk_subscription("orders", "/orders", Some("orders-dlq"), count, 10_000),
            subscription("orders-dlq", "/dlq", None)
        ]),
        responder,
    )
    .await;
    // fast_policy: 2 retries after the first attempt.
    let sidecar = start_sidecar(KAFKA, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 2).await;
    publish_n(&sidecar, 0..n).await;
    let mut dead: Vec<u64> = wait_for(&test_app, "/dlq", dead)
        .await
        .iter()
        .map(|r| r.json()["data"]["n"].as_u64().unwrap())
        .collect();
    dead.sort();
    (sidecar, test_app, dead)
}

/// Kafka: a batch is flushed when it holds `maxMessagesCount` messages or on the ticker, and
/// one POST carries it in daprd's shape: `Content-Type: application/json`, entry ids "0".."n-1",
/// each event the CloudEvent as an object with the record's position as metadata.
#[tokio::test]
async fn on_kafka_a_bulk_subscriber_gets_batches_of_at_most_the_count_in_daprd_shape() {
    let test_app = TestApp::start(
        json!([bulk_subscription("orders", "/orders", None, 5, 200)]),
        statuses(|_, _| Some("SUCCESS")),
    )
    .await;
    let sidecar = start_sidecar(KAFKA, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    publish_n(&sidecar, 0..12).await;
    let received = wait_for_entries(&test_app, 12).await;
    let order: Vec<u64> = received.iter().flat_map(ns).collect();
    assert_eq!(
        order,
        (0..12).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert!(
        received.iter().all(|r| ns(r).len() <= 5),
        "no batch above maxMessagesCount"
    );
    assert!(received.len() >= 3);

    let first = &received[0];
    assert_eq!(
        first.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = first.json();
    assert_eq!(body["type"], "com.dapr.event.sent.bulk");
    assert_eq!(
        (body["topic"].as_str(), body["pubsubname"].as_str()),
        (Some("orders"), Some("pubsub"))
    );
    assert!(body["id"].is_string());
    for (i, entry) in body["entries"].as_array().unwrap().iter().enumerate() {
        assert_eq!(entry["entryId"], i.to_string());
        assert_eq!(entry["contentType"], "application/cloudevents+json");
        assert_eq!(
            entry["event"]["specversion"], "1.0",
            "the CloudEvent as an object"
        );
        assert_eq!(entry["metadata"]["__topic"], "orders");
        assert_eq!(entry["metadata"]["__key"], "k");
        assert!(entry["metadata"]["__offset"].is_string());
    }
    sidecar.shutdown().await;
}

/// Per entry: exactly `SUCCESS` acknowledges; exactly `DROP` acknowledges and dead-letters at
/// once; anything else (`RETRY`, a lowercase `success`, an entry left out) fails. Retries carry
/// only the failed entries, and the entries still failing when they are spent go to the
/// dead-letter topic one by one. An entry id the request did not carry is ignored.
#[tokio::test]
async fn bulk_statuses_are_read_per_entry_and_only_failed_entries_are_retried() {
    let responder = statuses(|n, attempt| match (n, attempt) {
        (0, _) => Some("SUCCESS"),
        (1, _) => Some("DROP"),
        (2, _) => Some("success"),
        (3, _) => None,
        (4, 1) => Some("RETRY"),
        _ => Some("SUCCESS"),
    });
    let (sidecar, test_app, dead) = dead_letters_of_bulk_subscriber(responder, 5, 5, 3).await;
    assert_eq!(
        dead,
        [1, 2, 3],
        "the drop at once, the failures after the retries"
    );
    let batches: Vec<Vec<u64>> = test_app.received_at("/orders").iter().map(ns).collect();
    assert_eq!(batches, [vec![0, 1, 2, 3, 4], vec![2, 3, 4], vec![2, 3]]);
    sidecar.shutdown().await;
}

/// 404 acknowledges every entry, without the dead-letter topic; any other non-2xx fails every
/// entry (retried, then dead-lettered).
#[tokio::test]
async fn a_404_bulk_reply_acknowledges_every_entry_and_a_500_fails_every_entry() {
    let responder: Responder = Arc::new(|r: &Recorded, _| {
        if r.path == "/dlq" {
            return (200, String::new());
        }
        match ns(r).first() {
            Some(n) if *n < 3 => (404, String::new()),
            _ => (500, String::new()),
        }
    });
    let (sidecar, test_app, dead) = dead_letters_of_bulk_subscriber(responder, 3, 6, 3).await;
    assert_eq!(dead, [3, 4, 5], "only the 500 batch is dead-lettered");
    let batches: Vec<Vec<u64>> = test_app.received_at("/orders").iter().map(ns).collect();
    assert_eq!(
        batches,
        [vec![0, 1, 2], vec![3, 4, 5], vec![3, 4, 5], vec![3, 4, 5]],
        "the 404 batch once; the 500 batch three times"
    );
    sidecar.shutdown().await;
}

/// Kafka without a dead-letter topic: once the retries are spent, the component delivers the
/// whole batch again after `backOffDuration`, entries that succeeded included, until every
/// entry succeeds; the partition waits.
#[tokio::test]
async fn on_kafka_a_failed_entry_without_a_dead_letter_topic_brings_the_whole_batch_again() {
    let test_app = TestApp::start(
        json!([bulk_subscription("orders", "/orders", None, 3, 10_000)]),
        statuses(|n, attempt| (n != 1 || attempt > 2).then_some("SUCCESS")),
    )
    .await;
    let sidecar = start_sidecar_as_daprd(KAFKA, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    publish_n(&sidecar, 0..6).await;
    let received = wait_for(&test_app, "/orders", 4).await;
    let batches: Vec<Vec<u64>> = received.iter().map(ns).collect();
    assert_eq!(
        batches,
        [vec![0, 1, 2], vec![0, 1, 2], vec![0, 1, 2], vec![3, 4, 5]],
        "no daprd retries without a policy; the component redelivers the whole batch"
    );
    sidecar.shutdown().await;
}

/// Other components go through the default bulk subscriber: a batch holds no more messages
/// than the component hands over at once (Redis Streams: `concurrency`), and each entry id is
/// a UUID.
#[tokio::test]
async fn the_default_bulk_subscriber_batches_no_more_than_the_components_concurrency() {
    let redis = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - {name: redisHost, value: "localhost:6379"}
    - {name: concurrency, value: "2"}
"#;
    let test_app = TestApp::start(
        json!([bulk_subscription("orders", "/orders", None, 100, 100)]),
        statuses(|_, _| Some("SUCCESS")),
    )
    .await;
    let sidecar = start_sidecar(redis, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    publish_n(&sidecar, 0..7).await;
    let received = wait_for_entries(&test_app, 7).await;
    assert!(
        received.iter().all(|r| ns(r).len() <= 2),
        "{:?}",
        received.iter().map(ns).collect::<Vec<_>>()
    );
    for request in &received {
        for entry in request.json()["entries"].as_array().unwrap() {
            assert!(uuid::Uuid::parse_str(entry["entryId"].as_str().unwrap()).is_ok());
        }
    }
    sidecar.shutdown().await;
}

/// Routing rules apply per entry: an entry no rule matches is dropped up front (acknowledged,
/// or dead-lettered), and the partition goes on with the next batch.
#[tokio::test]
async fn on_kafka_bulk_entries_no_rule_matches_are_dropped_and_the_partition_moves_on() {
    let mut sub = bulk_subscription("orders", "/unused", None, 1, 10_000);
    sub.as_object_mut().unwrap().remove("route");
    sub["routes"] =
        json!({"rules": [{"match": "event.data.kind == \"wanted\"", "path": "/wanted"}]});
    let test_app = TestApp::start(json!([sub]), statuses(|_, _| Some("SUCCESS"))).await;
    let sidecar = start_sidecar(KAFKA, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    for (n, kind) in [(0, "other"), (1, "wanted")] {
        publish_json(
            &sidecar,
            "audit",
            "orders",
            "?metadata.partitionKey=k",
            &json!({"n": n, "kind": kind}),
        )
        .await;
    }
    let received = wait_for(&test_app, "/wanted", 1).await;
    assert_eq!(ns(&received[0]), [1]);
    assert!(test_app.received_at("/unused").is_empty());
    sidecar.shutdown().await;
}
