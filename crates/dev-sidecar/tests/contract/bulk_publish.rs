//! Bulk publish: docs/dapr-behaviour.md §1.5 (dapr/dapr `pkg/api/http/http.go` `onBulkPublish`,
//! `pkg/api/http/util.go` `ConvertEventToBytes`; contrib `common/component/kafka/producer.go`
//! `BulkPublish`).

use std::collections::BTreeSet;

use dev_sidecar::Environment;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::init::{KAFKA, try_start};

async fn bulk(sidecar: &dev_sidecar::DevSidecar, path: &str, body: &Value) -> (u16, String) {
    let response = client()
        .post(url(sidecar, "backend-api", path))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A sidecar on Kafka whose broker has only `topics` (every topic with `None`).
async fn kafka(topics: Option<BTreeSet<String>>) -> dev_sidecar::DevSidecar {
    let apps = vec![app("backend-api", closed_port())];
    try_start(KAFKA, apps, Environment::default(), topics)
        .await
        .unwrap()
}

/// The partition keys of what the sidecar took, in order.
fn keys_of(sidecar: &dev_sidecar::DevSidecar) -> Vec<Option<String>> {
    sidecar
        .published()
        .into_iter()
        .map(|m| m.partition_key)
        .collect()
}

fn cloud_event(id: &str, n: i64) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "backend-api", "type": "t",
           "datacontenttype": "application/json", "data": {"n": n}})
}

#[tokio::test]
async fn each_entry_is_produced_with_its_own_key_and_envelope_and_success_is_an_empty_204() {
    let sidecar = start_sidecar(PUBSUB, vec![app("backend-api", closed_port())]).await;
    let mut traced = cloud_event("evt-2", 2);
    traced["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into();
    traced["traceid"] = traced["traceparent"].clone();
    let mut untraced = cloud_event("evt-3", 3);
    untraced["traceparent"] = "00-11111111111111111111111111111111-2222222222222222-01".into();
    let body = json!([
        {"entryId": "a", "event": cloud_event("evt-1", 1), "contentType": "application/cloudevents+json",
         "metadata": {"partitionKey": "alice"}},
        {"entryId": "b", "event": traced, "contentType": "application/cloudevents+json",
         "metadata": {"partitionKey": "bob"}},
        {"entryId": "c", "event": untraced, "contentType": "application/cloudevents+json"},
        {"entryId": "d", "event": {"plain": true}, "contentType": "application/json"},
    ]);
    let (status, text) = bulk(
        &sidecar,
        "/v1.0-alpha1/publish/bulk/pubsub/task-created",
        &body,
    )
    .await;
    assert_eq!((status, text.as_str()), (204, ""));
    let published = sidecar.published();
    let keys: Vec<Option<&str>> = published
        .iter()
        .map(|m| m.partition_key.as_deref())
        .collect();
    assert_eq!(keys, [Some("alice"), Some("bob"), None, None]);
    let envelopes: Vec<&Value> = published.iter().map(|m| &m.envelope).collect();
    assert_eq!(envelopes[0]["id"], "evt-1");
    assert_eq!(envelopes[0]["data"], json!({"n": 1}));
    assert_eq!(envelopes[0]["topic"], "task-created");
    assert_eq!(envelopes[0]["pubsubname"], "pubsub");
    // An entry's trace context is kept with its traceid; without one both become the publish's.
    assert_eq!(envelopes[1]["traceparent"], body[1]["event"]["traceparent"]);
    assert_eq!(envelopes[1]["traceid"], body[1]["event"]["traceparent"]);
    assert_ne!(envelopes[2]["traceparent"], body[2]["event"]["traceparent"]);
    assert_eq!(envelopes[2]["traceid"], envelopes[2]["traceparent"]);
    // application/json is wrapped as a single publish would wrap it.
    assert_eq!(envelopes[3]["data"], json!({"plain": true}));
    assert_eq!(envelopes[3]["type"], "com.dapr.event.sent");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_body_or_an_entry_daprd_cannot_read_is_a_400_and_nothing_is_produced() {
    let sidecar = start_sidecar(PUBSUB, vec![app("backend-api", closed_port())]).await;
    let good = json!({"entryId": "1", "event": {"a": 1}, "contentType": "application/json"});
    let cases = [
        ("an object, not an array", json!({"entryId": "1"})),
        (
            "a missing contentType",
            json!([good, {"entryId": "2", "event": {"a": 2}}]),
        ),
        (
            "a string event as text/plain is fine, a number is not",
            json!([good, {"entryId": "2", "event": 7, "contentType": "text/plain"}]),
        ),
        ("a repeated entryId", json!([good, good])),
        (
            "an empty entryId",
            json!([good, {"entryId": "", "event": {}, "contentType": "application/json"}]),
        ),
    ];
    for (case, body) in cases {
        let (status, text) = bulk(&sidecar, "/v1.0-alpha1/publish/bulk/pubsub/t", &body).await;
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (status, error["errorCode"].as_str()),
            (400, Some("ERR_PUBSUB_EVENTS_SER")),
            "{case}: {text}"
        );
    }
    // A CloudEvent entry that is not an object is daprd's 500 ERR_PUBSUB_CLOUD_EVENTS_SER.
    let body = json!([good, {"entryId": "2", "event": "oops", "contentType": "application/cloudevents+json"}]);
    let (status, text) = bulk(&sidecar, "/v1.0-alpha1/publish/bulk/pubsub/t", &body).await;
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("ERR_PUBSUB_CLOUD_EVENTS_SER"), "{text}");
    assert!(sidecar.published().is_empty(), "nothing was produced");
    // An empty array publishes nothing, successfully; an unknown component is a 404.
    assert_eq!(
        bulk(&sidecar, "/v1.0-alpha1/publish/bulk/pubsub/t", &json!([]))
            .await
            .0,
        204
    );
    assert_eq!(
        bulk(&sidecar, "/v1.0-alpha1/publish/bulk/nope/t", &json!([good]))
            .await
            .0,
        404
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn request_metadata_reaches_entries_with_metadata_and_on_kafka_its_partition_key_wins() {
    let body = json!([
        {"entryId": "own", "event": {}, "contentType": "application/json", "metadata": {"partitionKey": "own"}},
        {"entryId": "none", "event": {}, "contentType": "application/json"},
    ]);
    let path = "/v1.0-alpha1/publish/bulk/pubsub/orders?metadata.partitionKey=request";
    // Redis (daprd's default bulk publisher): each entry's own metadata, the entry's key wins.
    let redis = KAFKA.replace("pubsub.kafka", "pubsub.redis");
    let sidecar = start_sidecar(&redis, vec![app("backend-api", closed_port())]).await;
    assert_eq!(bulk(&sidecar, path, &body).await.0, 204);
    let keys = keys_of(&sidecar);
    assert_eq!(keys, [Some("own".to_owned()), None]);
    sidecar.shutdown().await;
    // Kafka copies the request's metadata over every entry's.
    let sidecar = kafka(None).await;
    assert_eq!(bulk(&sidecar, path, &body).await.0, 204);
    let keys = keys_of(&sidecar);
    assert_eq!(
        keys,
        [Some("request".to_owned()), Some("request".to_owned())]
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn entries_the_broker_refuses_are_listed_in_a_500_and_the_others_are_produced() {
    let sidecar = kafka(Some(BTreeSet::from(["orders".to_owned()]))).await;
    let body = json!([
        {"entryId": "x", "event": {"n": 1}, "contentType": "application/json"},
        {"entryId": "y", "event": {"n": 2}, "contentType": "application/json"},
    ]);
    let (status, text) = bulk(&sidecar, "/v1.0-alpha1/publish/bulk/pubsub/invoices", &body).await;
    assert_eq!(status, 500);
    let refused: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(refused["errorCode"], "ERR_PUBSUB_PUBLISH_MESSAGE");
    let failed: Vec<&str> = refused["failedEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["entryId"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["x", "y"]);
    assert!(
        refused["failedEntries"][0]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist on this broker")
    );
    assert!(sidecar.published().is_empty());
    assert_eq!(
        bulk(&sidecar, "/v1.0-alpha1/publish/bulk/pubsub/orders", &body)
            .await
            .0,
        204
    );
    assert_eq!(sidecar.published().len(), 2);
    sidecar.shutdown().await;
}
