//! Issue 15, undo: a task deleted and restored is handled as such by every consumer — the
//! user's socket sees it go and come back (the restore as the next version), audit records
//! the restore in the chain, and the restored task's reminder fires.

use std::time::Duration;
use testkit::SendJson;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{eventually, next_message, request, seconds_from_now, start_fleet, token};

const USER: &str = "us7-user";

#[tokio::test]
async fn a_restored_task_comes_back_on_the_socket_in_the_audit_chain_and_with_its_reminder() {
    let fleet = start_fleet().await;
    let ws = fleet.app_port("websocket").unwrap();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/ws?token={}", token(USER)))
            .await
            .unwrap();
    let reminder_at = seconds_from_now(&fleet, 3.0).await;
    let task: Value = request(&fleet, "backend-api", Method::POST, "/api/tasks", USER)
        .json(&json!({"title": "water the plants", "reminder_at": reminder_at}))
        .send_json()
        .await;
    let id = task["id"].as_str().unwrap();
    let deleted = request(
        &fleet,
        "backend-api",
        Method::DELETE,
        &format!("/api/tasks/{id}"),
        USER,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(deleted.status(), 204);
    let restored = request(
        &fleet,
        "backend-api",
        Method::POST,
        &format!("/api/tasks/trash/{id}/restore"),
        USER,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(restored.status(), 200);

    let mut pushes = Vec::new();
    while pushes.len() < 3 {
        let message = next_message(&mut socket, Duration::from_secs(15))
            .await
            .expect("a push");
        if message["task_id"] == id {
            pushes.push((
                message["type"].as_str().unwrap().to_owned(),
                message["version"].as_i64().unwrap(),
            ));
        }
    }
    // Different topics are not ordered against each other (the broker orders a user's events
    // per topic only): clients apply pushes by version, so that is the order that counts.
    pushes.sort_by_key(|(_, version)| *version);
    assert_eq!(
        pushes,
        [
            ("task.created".to_owned(), 1),
            ("task.deleted".to_owned(), 2),
            ("task.updated".to_owned(), 3)
        ]
    );

    let entries = eventually(Duration::from_secs(15), "three audit entries", || async {
        let page: Value = request(
            &fleet,
            "audit",
            Method::GET,
            &format!("/api/audit?task_id={id}"),
            USER,
        )
        .send_json()
        .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 3).then_some(items)
    })
    .await;
    assert_eq!(entries[0]["event_type"], "task-updated");
    assert_eq!(
        entries[0]["changes"],
        json!({"deleted": {"before": true, "after": false}})
    );
    let verified: Value = request(&fleet, "audit", Method::GET, "/api/audit/verify", USER)
        .send_json()
        .await;
    assert_eq!(verified["intact"], true, "{verified}");

    // The reminder planned before the deletion fires for the restored task, once.
    let notifications = eventually(Duration::from_secs(20), "the reminder", || async {
        let page: Value = request(
            &fleet,
            "notification",
            Method::GET,
            "/api/notifications",
            USER,
        )
        .send_json()
        .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0]["task_id"], id);
}
