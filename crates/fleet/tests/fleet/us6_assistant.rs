//! Issue 6 through the whole system: a task the assistant adds on the user's words is pushed
//! to that user's socket (and nobody else's) and lands in the audit trail with actor
//! `assistant`, exactly like a change made through the REST API.

use std::time::Duration;
use testkit::SendJson;

use backend_api::assistant::AssistantSettings;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::llm::{start_provider, text_reply, tool_reply};

use crate::helpers::{eventually, next_message, request, start_fleet_with_assistant, token};

#[tokio::test]
async fn us6_a_task_added_by_chat_reaches_the_users_socket_and_the_audit_trail_as_the_assistant() {
    let (base_url, script) = start_provider(vec![
        tool_reply(&[(
            "call_1",
            "add_task",
            json!({"title": "Buy milk", "when": "tomorrow 5pm", "tags": ["home"], "priority": "high"}),
        )]),
        text_reply("Added “Buy milk” for tomorrow at 17:00."),
    ])
    .await;
    let fleet = start_fleet_with_assistant(AssistantSettings {
        api_key: Some("scripted".into()),
        base_url,
        model: "scripted".to_owned(),
        ..AssistantSettings::default()
    })
    .await;
    let ws = fleet.app_port("websocket").unwrap();
    let connect = |user: &str| {
        let url = format!("ws://127.0.0.1:{ws}/ws?token={}", token(user));
        async move { tokio_tungstenite::connect_async(url).await.unwrap().0 }
    };
    let mut alice = connect("alice").await;
    let mut bob = connect("bob").await;

    let thread: Value = request(
        &fleet,
        "backend-api",
        Method::POST,
        "/api/assistant/threads",
        "alice",
    )
    .json(&json!({"timezone": "Europe/Berlin"}))
    .send_json()
    .await;
    let path = format!(
        "/api/assistant/threads/{}/messages",
        thread["id"].as_str().unwrap()
    );
    let response = request(&fleet, "backend-api", Method::POST, &path, "alice")
        .json(&json!({"text": "add a task to buy milk tomorrow at 5pm #home p1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stream = tokio::time::timeout(Duration::from_secs(20), response.text())
        .await
        .expect("the answer stream ended")
        .unwrap();
    assert!(stream.contains("event: tool_call.finished"), "{stream}");
    assert!(stream.contains("event: done"), "{stream}");
    assert_eq!(script.requests().len(), 2);

    let push = next_message(&mut alice, Duration::from_secs(10))
        .await
        .expect("no push to alice's socket");
    assert_eq!(push["type"], "task.created", "{push}");
    let task = &push["task"];
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["tags"], json!(["home"]));
    let due: DateTime<Utc> = task["due_date"].as_str().unwrap().parse().unwrap();
    let local = due.with_timezone(&chrono_tz::Europe::Berlin);
    let tomorrow = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        .succ_opt()
        .unwrap();
    assert_eq!(
        (local.date_naive(), local.format("%H:%M").to_string()),
        (tomorrow, "17:00".to_owned())
    );
    assert!(
        next_message(&mut bob, Duration::from_millis(500))
            .await
            .is_none(),
        "bob's socket got alice's task"
    );

    let task_id = push["task_id"].as_str().unwrap().to_owned();
    let entries = eventually(Duration::from_secs(10), "the audit entry", || async {
        let body: Value = request(&fleet, "audit", Method::GET, "/api/audit", "alice")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["event_type"], "task-created");
    assert_eq!(entries[0]["actor"], "assistant");
    assert_eq!(entries[0]["task_id"], task_id.as_str());
    let verified: Value = request(&fleet, "audit", Method::GET, "/api/audit/verify", "alice")
        .send_json()
        .await;
    assert_eq!(verified["intact"], true, "{verified}");
    fleet.stop().await;
}
