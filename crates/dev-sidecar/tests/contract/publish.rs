//! Publishing: the envelope rules of docs/dapr-behaviour.md §1.2–1.3 and the status codes of 1.4.

use serde_json::{Value, json};

use crate::helpers::*;

async fn sidecar() -> dev_sidecar::DevSidecar {
    start_sidecar(PUBSUB, vec![app("backend-api", closed_port())]).await
}

async fn publish_raw(
    sidecar: &dev_sidecar::DevSidecar,
    path: &str,
    content_type: Option<&str>,
    body: &'static [u8],
) -> reqwest::Response {
    let mut request = client().post(url(sidecar, "backend-api", path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

fn last_envelope(sidecar: &dev_sidecar::DevSidecar) -> Value {
    sidecar.published().last().unwrap().envelope.clone()
}

#[tokio::test]
async fn a_json_body_is_parsed_into_data_of_an_envelope_built_by_the_sidecar() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/task-created?metadata.partitionKey=user-1",
        Some("application/json"),
        br#"{"taskId":"42","n":7}"#,
    )
    .await;
    assert_eq!(response.status(), 204);
    let published = sidecar.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].partition_key.as_deref(), Some("user-1"));
    assert_eq!(published[0].topic, "task-created");
    let event = &published[0].envelope;
    assert_eq!(event["data"], json!({"taskId": "42", "n": 7}));
    assert_eq!(event["datacontenttype"], "application/json");
    assert_eq!(event["source"], "backend-api");
    assert_eq!(event["type"], "com.dapr.event.sent");
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["topic"], "task-created");
    assert_eq!(event["pubsubname"], "pubsub");
    assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
    assert_eq!(event["traceid"], event["traceparent"]);
    let time = event["time"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok());
    assert!(!time.contains('.'), "time has second precision: {time}");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_body_without_content_type_arrives_as_a_text_plain_string() {
    let sidecar = sidecar().await;
    let response = publish_raw(&sidecar, "/v1.0/publish/pubsub/t", None, br#"{"a":1}"#).await;
    assert_eq!(response.status(), 204);
    let event = last_envelope(&sidecar);
    assert_eq!(event["datacontenttype"], "text/plain");
    assert_eq!(event["data"], json!(r#"{"a":1}"#));
    sidecar.shutdown().await;
}

#[tokio::test]
async fn invalid_json_sent_as_application_json_becomes_a_string() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t",
        Some("application/json; charset=utf-8"),
        b"{not json",
    )
    .await;
    assert_eq!(response.status(), 204);
    let event = last_envelope(&sidecar);
    assert_eq!(event["data"], json!("{not json"));
    assert_eq!(event["datacontenttype"], "application/json; charset=utf-8");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn an_octet_stream_body_is_carried_as_data_base64() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t",
        Some("application/octet-stream"),
        b"\x00\x01hi",
    )
    .await;
    assert_eq!(response.status(), 204);
    let event = last_envelope(&sidecar);
    assert_eq!(event["data_base64"], "AAFoaQ==");
    assert!(event.get("data").is_none());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_published_cloud_event_keeps_its_fields_and_gets_topic_pubsubname_and_time() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/task-created",
        Some("application/cloudevents+json"),
        br#"{"id":"evt-1","source":"backend-api","type":"com.taskfleet.task-created.v1",
             "specversion":"1.0","datacontenttype":"application/json","data":{"x":1},
             "topic":"wrong","extra":"kept"}"#,
    )
    .await;
    assert_eq!(response.status(), 204);
    let event = last_envelope(&sidecar);
    assert_eq!(event["id"], "evt-1");
    assert_eq!(event["type"], "com.taskfleet.task-created.v1");
    assert_eq!(event["source"], "backend-api");
    assert_eq!(event["data"], json!({"x": 1}));
    assert_eq!(event["extra"], "kept");
    assert_eq!(event["topic"], "task-created");
    assert_eq!(event["pubsubname"], "pubsub");
    assert!(event["time"].is_string());
    assert!(event["traceparent"].is_string());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_cloud_event_without_id_or_source_gets_defaults_but_no_id() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t",
        Some("application/cloudevents+json"),
        br#"{"data":"x"}"#,
    )
    .await;
    assert_eq!(response.status(), 204);
    let event = last_envelope(&sidecar);
    assert!(
        event.get("id").is_none(),
        "Dapr does not add an id: {event}"
    );
    assert_eq!(event["source"], "Dapr");
    assert_eq!(event["type"], "com.dapr.event.sent");
    assert_eq!(event["specversion"], "1.0");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn an_invalid_cloud_event_body_is_a_500() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t",
        Some("application/cloudevents+json"),
        b"{oops",
    )
    .await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_PUBSUB_CLOUD_EVENTS_SER");
    assert!(sidecar.published().is_empty());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn metadata_cloudevent_id_overrides_the_generated_id() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t?metadata.cloudevent.id=business-7&metadata.cloudevent.type=my.type",
        Some("application/json"),
        b"{}",
    )
    .await;
    assert_eq!(response.status(), 204);
    let event = last_envelope(&sidecar);
    assert_eq!(event["id"], "business-7");
    assert_eq!(event["type"], "my.type");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_raw_payload_value_that_is_not_a_bool_is_rejected_with_400() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t?metadata.rawPayload=yes",
        Some("application/json"),
        b"{}",
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_PUBSUB_REQUEST_METADATA");
    assert!(sidecar.published().is_empty());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn publishing_to_an_unknown_pubsub_is_a_404() {
    let sidecar = sidecar().await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/nope/t",
        Some("application/json"),
        b"{}",
    )
    .await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_PUBSUB_NOT_FOUND");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn publishing_without_any_pubsub_component_is_a_400() {
    let sidecar = start_sidecar("", vec![app("backend-api", closed_port())]).await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t",
        Some("application/json"),
        b"{}",
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_PUBSUB_NOT_CONFIGURED");
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_pubsub_scoped_to_another_app_is_not_found() {
    let yaml = format!("{PUBSUB}scopes:\n  - audit\n");
    let sidecar = start_sidecar(&yaml, vec![app("backend-api", closed_port())]).await;
    let response = publish_raw(
        &sidecar,
        "/v1.0/publish/pubsub/t",
        Some("application/json"),
        b"{}",
    )
    .await;
    assert_eq!(
        response.status(),
        400,
        "no pubsub is visible to backend-api"
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn the_dev_messages_endpoint_lists_recent_envelopes_of_a_topic() {
    let sidecar = sidecar().await;
    for (topic, n) in [("a", 1), ("b", 2), ("a", 3)] {
        publish_json(&sidecar, "backend-api", topic, "", &json!({"n": n})).await;
    }
    let messages: Value = client()
        .get(url(
            &sidecar,
            "backend-api",
            "/dev/messages?topic=a&limit=1",
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["envelope"]["data"], json!({"n": 3}));
    sidecar.shutdown().await;
}
