//! Deliveries POSTed over HTTP exactly as the sidecar sends them.

use common::events::EventType;
use futures::future::join_all;
use serde_json::{Value, json};
use testkit::SendJson;
use uuid::Uuid;

use crate::helpers::{
    cloudevent, settings, spawn_audit, spawn_audit_with, task_event, unused_database_url,
};

#[tokio::test]
async fn dapr_subscribe_lists_the_task_topics_and_user_deleted_with_audits_dead_letter_topics_and_those_too()
 {
    let app = spawn_audit().await;
    let list: Vec<Value> = app
        .client
        .get(format!("{}/dapr/subscribe", app.address))
        .send_json()
        .await;
    let topics = [
        "task-created",
        "task-updated",
        "task-completed",
        "task-deleted",
        "user-deleted",
    ];
    let deliveries = topics.iter().map(|topic| {
        json!({"pubsubname": "pubsub", "topic": topic, "route": format!("/events/{topic}"),
               "deadLetterTopic": format!("audit-{topic}-dlq")})
    });
    // The dead-letter inbox has no dead-letter topic: a failure there is redelivered.
    let inbox = topics.iter().map(|topic| {
        json!({"pubsubname": "pubsub", "topic": format!("audit-{topic}-dlq"),
               "route": format!("/dead-letters/{topic}")})
    });
    let expected: Vec<Value> = deliveries.chain(inbox).collect();
    assert_eq!(list, expected);
}

#[tokio::test]
async fn each_event_becomes_one_entry_with_its_actor_changes_and_snapshot() {
    let app = spawn_audit().await;
    let task_id = Uuid::new_v4();
    let created = task_event(EventType::TaskCreated, "alice", task_id, 1);
    let updated = task_event(EventType::TaskUpdated, "alice", task_id, 2);
    assert_eq!(app.deliver(&created).await, "SUCCESS");
    assert_eq!(app.deliver(&updated).await, "SUCCESS");

    let items = app.entries("alice", "").await;
    assert_eq!(items.len(), 2);
    let (newest, oldest) = (&items[0], &items[1]);
    assert_eq!(newest["event_id"], json!(updated.event_id));
    assert_eq!(newest["event_type"], "task-updated");
    assert_eq!(newest["task_id"], json!(task_id));
    assert_eq!(newest["actor"], "user");
    assert_eq!(
        newest["changes"],
        json!({"title": {"before": "old title", "after": "new title"}})
    );
    assert_eq!(newest["snapshot"]["title"], "new title");
    assert_eq!(newest["snapshot"]["version"], 2);
    assert!(newest["snapshot"].get("changes").is_none(), "{newest}");
    assert_eq!(newest["prev_hash"], oldest["hash"]);
    assert_eq!(oldest["event_type"], "task-created");
    assert_eq!(oldest["changes"], Value::Null);
    assert_eq!(oldest["prev_hash"], Value::Null);
    let occurred: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(oldest["occurred_at"].clone()).unwrap();
    let drift = (occurred - created.timestamp)
        .num_microseconds()
        .unwrap()
        .abs();
    assert!(
        drift < 1,
        "occurred_at is the event's timestamp: {occurred}"
    );
    assert!(oldest["recorded_at"].is_string());
}

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing_and_answers_success() {
    let app = spawn_audit().await;
    let event = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
    assert_eq!(app.deliver(&event).await, "SUCCESS");
    let before = app.entries("alice", "").await;
    assert_eq!(app.deliver(&event).await, "SUCCESS");
    assert_eq!(app.rows().await, 1);
    assert_eq!(app.entries("alice", "").await, before);
}

#[tokio::test]
async fn five_concurrent_deliveries_of_one_event_leave_one_entry() {
    let app = spawn_audit().await;
    let event = task_event(EventType::TaskCompleted, "alice", Uuid::new_v4(), 3);
    let replies = join_all((0..5).map(|_| app.deliver(&event))).await;
    assert!(replies.iter().all(|r| r == "SUCCESS"), "{replies:?}");
    assert_eq!(app.rows().await, 1);
    assert_eq!(app.verify("alice").await["intact"], true);
}

#[tokio::test]
async fn concurrent_distinct_events_of_one_user_form_one_unforked_chain() {
    let app = spawn_audit().await;
    let events: Vec<_> = (0..20)
        .map(|i| task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), i))
        .collect();
    let replies = join_all(events.iter().map(|e| app.deliver(e))).await;
    assert!(replies.iter().all(|r| r == "SUCCESS"), "{replies:?}");
    assert_eq!(app.rows().await, 20);
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": true, "entries": 20, "first_broken_event_id": null})
    );
}

#[tokio::test]
async fn malformed_bodies_and_unknown_schema_versions_are_dropped() {
    let app = spawn_audit().await;
    let mut future = cloudevent(&task_event(
        EventType::TaskCreated,
        "alice",
        Uuid::new_v4(),
        1,
    ));
    future["data"]["schema_version"] = json!(2);
    let mut reminder = cloudevent(&task_event(
        EventType::TaskCreated,
        "alice",
        Uuid::new_v4(),
        1,
    ));
    reminder["data"]["event_type"] = json!("reminder-due");
    let bodies = [
        b"{not json".to_vec(),
        b"".to_vec(),
        br#"{"specversion":"1.0","id":"x","source":"s","type":"t","data":{"hello":1}}"#.to_vec(),
        serde_json::to_vec(&future).unwrap(),
        serde_json::to_vec(&reminder).unwrap(),
    ];
    for body in bodies {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, reply) = app.deliver_raw("task-created", body).await;
        assert_eq!((status, reply), (200, json!({"status": "DROP"})), "{shown}");
    }
    assert_eq!(app.rows().await, 0);
}

#[tokio::test]
async fn a_delivery_while_the_database_is_unreachable_is_answered_retry() {
    let (pool, _) = crate::helpers::fresh_database().await;
    // A database that does not exist: every connection attempt fails.
    let app = spawn_audit_with(
        pool,
        settings(&unused_database_url(), crate::helpers::free_port()),
    )
    .await;
    let event = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
    assert_eq!(app.deliver(&event).await, "RETRY");
}

#[tokio::test]
async fn with_an_app_token_deliveries_and_subscriptions_need_it_and_a_user_jwt_is_not_enough() {
    let (pool, url) = crate::helpers::fresh_database().await;
    let mut settings = settings(&url, crate::helpers::free_port());
    settings.app_api_token = Some("sidecar-secret".into());
    let app = spawn_audit_with(pool, settings).await;
    let event = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
    let body = serde_json::to_vec(&cloudevent(&event)).unwrap();
    let deliver = |token: Option<&str>| {
        let mut request = app
            .client
            .post(format!("{}/events/task-created", app.address))
            .header("content-type", "application/cloudevents+json")
            .body(body.clone());
        if let Some(token) = token {
            request = request.header("dapr-api-token", token);
        }
        request
    };
    let anonymous = deliver(None).send().await.unwrap().status().as_u16();
    let as_user = deliver(None)
        .bearer_auth(crate::helpers::token("alice"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let subscribe = app
        .client
        .get(format!("{}/dapr/subscribe", app.address))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!((anonymous, as_user, subscribe), (401, 401, 401));
    let wrong = deliver(Some("guess")).send().await.unwrap().status();
    assert_eq!(wrong, 403);
    assert_eq!(app.rows().await, 0);
    let reply: Value = deliver(Some("sidecar-secret")).send_json().await;
    assert_eq!(reply, json!({"status": "SUCCESS"}));
    assert_eq!(app.rows().await, 1);
}
