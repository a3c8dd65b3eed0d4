//! US4, US5 and the poison event for audit: task changes made through backend-api end up in
//! the hash-chained audit trail, once each, also when audit was down meanwhile.

use std::time::Duration;
use testkit::SendJson;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{eventually, request, start_fleet};

async fn create_task(fleet: &fleet::Fleet, user: &str, title: &str) -> Value {
    let response = request(fleet, "backend-api", Method::POST, "/api/tasks", user)
        .json(&json!({"title": title}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn audit_entries(fleet: &fleet::Fleet, user: &str, query: &str) -> Vec<Value> {
    let body: Value = request(
        fleet,
        "audit",
        Method::GET,
        &format!("/api/audit{query}"),
        user,
    )
    .send_json()
    .await;
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn verify(fleet: &fleet::Fleet, user: &str) -> Value {
    request(fleet, "audit", Method::GET, "/api/audit/verify", user)
        .send_json()
        .await
}

#[tokio::test]
async fn us4_create_update_complete_delete_leave_four_chained_audit_entries_in_order() {
    let fleet = start_fleet().await;
    let task = create_task(&fleet, "alice", "write the report").await;
    let id = task["id"].as_str().unwrap();
    let path = format!("/api/tasks/{id}");
    let patched = request(&fleet, "backend-api", Method::PATCH, &path, "alice")
        .json(&json!({"title": "write the final report"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let completed = request(
        &fleet,
        "backend-api",
        Method::POST,
        &format!("{path}/complete"),
        "alice",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(completed.status(), 200);
    let deleted = request(&fleet, "backend-api", Method::DELETE, &path, "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let entries = eventually(Duration::from_secs(15), "four audit entries", || async {
        let items = audit_entries(&fleet, "alice", &format!("?task_id={id}")).await;
        (items.len() == 4).then_some(items)
    })
    .await;
    let oldest_first: Vec<&Value> = entries.iter().rev().collect();
    let types: Vec<&str> = oldest_first
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "task-created",
            "task-updated",
            "task-completed",
            "task-deleted"
        ]
    );
    assert!(oldest_first.iter().all(|e| e["actor"] == "user"));
    assert_eq!(
        oldest_first[1]["changes"]["title"],
        json!({"before": "write the report", "after": "write the final report"})
    );
    assert_eq!(
        oldest_first[3]["snapshot"]["title"],
        "write the final report"
    );
    assert_eq!(
        verify(&fleet, "alice").await,
        json!({"intact": true, "entries": 4, "first_broken_event_id": null})
    );
    let refused = sqlx::query("UPDATE audit_log SET actor = 'system'")
        .execute(fleet.pool())
        .await;
    assert!(refused.is_err(), "the audit log accepted an UPDATE");
    assert_eq!(verify(&fleet, "alice").await["intact"], true);
    fleet.stop().await;
}

#[tokio::test]
async fn us5_changes_made_while_audit_is_down_are_all_recorded_once_after_it_returns() {
    // The shipped Resiliency: deliveries to an app that is down use up retries until the
    // health checks pause them, as with daprd; the test's three quick retries would not last.
    let mut config = crate::helpers::fleet_config(&[]);
    config.delivery = None;
    let mut fleet = fleet::Fleet::start(config).await.unwrap();
    fleet.stop_service("audit").await;
    let mut tasks = Vec::new();
    for i in 0..25 {
        tasks.push(create_task(&fleet, "bob", &format!("task {i}")).await);
    }
    for task in &tasks {
        let path = format!("/api/tasks/{}/complete", task["id"].as_str().unwrap());
        let response = request(&fleet, "backend-api", Method::POST, &path, "bob")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    fleet.start_service("audit").await.unwrap();
    eventually(Duration::from_secs(30), "fifty audit entries", || async {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE user_id = 'bob'")
            .fetch_one(fleet.pool())
            .await
            .unwrap();
        (count >= 50).then_some(())
    })
    .await;
    let (rows, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id) FROM audit_log WHERE user_id = 'bob'",
    )
    .fetch_one(fleet.pool())
    .await
    .unwrap();
    assert_eq!((rows, distinct), (50, 50));
    let listed = audit_entries(&fleet, "bob", "?limit=200").await;
    assert_eq!(listed.len(), 50);
    assert_eq!(
        verify(&fleet, "bob").await,
        json!({"intact": true, "entries": 50, "first_broken_event_id": null})
    );
    fleet.stop().await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_while_later_task_events_are_still_audited() {
    let fleet = start_fleet().await;
    let sidecar_port = fleet
        .ports
        .iter()
        .find(|p| p.name == "backend-api")
        .unwrap()
        .sidecar_port;
    let published = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{sidecar_port}/v1.0/publish/pubsub/task-created"
        ))
        .header("content-type", "application/json")
        .header("dapr-api-token", fleet.dapr_api_token())
        .body(r#"{"poison":true}"#)
        .send()
        .await
        .unwrap();
    assert!(published.status().is_success(), "{}", published.status());
    let task = create_task(&fleet, "carol", "after the poison").await;
    let dead = eventually(Duration::from_secs(15), "the dead letter", || async {
        fleet
            .sidecar()
            .published()
            .into_iter()
            .find(|m| m.topic == "audit-task-created-dlq")
    })
    .await;
    assert_eq!(dead.envelope["data"]["poison"], true);
    let id = task["id"].as_str().unwrap();
    let entries = eventually(
        Duration::from_secs(15),
        "the later task's entry",
        || async {
            let items = audit_entries(&fleet, "carol", &format!("?task_id={id}")).await;
            (!items.is_empty()).then_some(items)
        },
    )
    .await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["event_type"], "task-created");
    fleet.stop().await;
}
