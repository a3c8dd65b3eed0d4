//! `POST /api/tasks/parse`: the quick-add parser over HTTP, storing nothing.

use std::sync::Arc;
use testkit::SendJson;

use reqwest::Method;
use serde_json::{Value, json};

use crate::assistant_scripted::thursday;
use crate::helpers::{TestApp, error_code, spawn_app_with};

async fn app() -> TestApp {
    spawn_app_with(|defaults| backend_api::Settings {
        clock: Arc::new(thursday),
        ..defaults
    })
    .await
}

async fn parse(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .request(Method::POST, "/api/tasks/parse", "alice")
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_quick_add_text_becomes_the_fields_of_a_task_in_the_users_zone_and_nothing_is_stored() {
    let app = app().await;
    let (status, parsed) = parse(
        &app,
        json!({"text": "buy milk tomorrow 5pm #home p1", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(status, 200, "{parsed}");
    let fields = parsed["task"].clone();
    assert_eq!(fields["title"], "buy milk");
    assert_eq!(fields["due_date"], "2026-11-27T16:00:00Z");
    assert_eq!(fields["priority"], "high");
    assert_eq!(fields["tags"], json!(["home"]));
    assert_eq!(fields["timezone"], "Europe/Berlin");
    assert!(app.outbox_topics().await.is_empty());
    let (_, page) = app.get_json("alice", "/api/tasks").await;
    assert_eq!(page["items"], json!([]));

    // The answer is a body POST /api/tasks accepts as it is.
    let created = app.create_ok("alice", fields).await;
    assert_eq!(created["due_date"], "2026-11-27T16:00:00Z");

    let (status, parsed) = parse(&app, json!({"text": "stand-up every! weekday at 9:30"})).await;
    assert_eq!(status, 200);
    let fields = &parsed["task"];
    assert_eq!(fields["title"], "stand-up");
    assert_eq!(fields["recurring_rule"], "weekdays");
    assert_eq!(fields["recurring_mode"], "completion");
    assert_eq!(fields["timezone"], "UTC");
    assert_eq!(fields["due_date"], "2026-11-27T09:30:00Z");
}

#[tokio::test]
async fn the_answer_says_where_each_recognised_phrase_stands_in_javascript_string_indexes() {
    let app = app().await;
    // "ü" and the emoji take one and two UTF-16 units but two and four bytes: the offsets are
    // the browser's, so `text.slice(start, end)` is the phrase.
    let text = "Grüße 🎉 an Anna friday 5pm #family !high";
    let (status, parsed) = parse(&app, json!({"text": text, "timezone": "Europe/Berlin"})).await;
    assert_eq!(status, 200, "{parsed}");
    assert_eq!(
        parsed["spans"],
        json!([
            {"kind": "due", "start": 17, "end": 27, "text": "friday 5pm"},
            {"kind": "tag", "start": 28, "end": 35, "text": "#family"},
            {"kind": "priority", "start": 36, "end": 41, "text": "!high"},
        ])
    );
    let units: Vec<u16> = text.encode_utf16().collect();
    for span in parsed["spans"].as_array().unwrap() {
        let (start, end) = (
            span["start"].as_u64().unwrap(),
            span["end"].as_u64().unwrap(),
        );
        let covered = String::from_utf16(&units[start as usize..end as usize]).unwrap();
        assert_eq!(covered, span["text"].as_str().unwrap());
    }
    assert_eq!(parsed["task"]["title"], "Grüße 🎉 an Anna");
    assert_eq!(parsed["task"]["due_date"], "2026-11-27T16:00:00Z");

    // Quoting a span's text keeps it in the title: nothing is recognised inside quotes.
    let (status, kept) = parse(
        &app,
        json!({"text": "Grüße 🎉 an Anna \"friday 5pm\" #family !high", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["task"]["title"], "Grüße 🎉 an Anna friday 5pm");
    assert!(kept["task"]["due_date"].is_null(), "{kept}");
    assert_eq!(kept["spans"].as_array().map(Vec::len), Some(2));

    let (_, plain) = parse(&app, json!({"text": "buy milk"})).await;
    assert_eq!(plain["spans"], json!([]));
    assert_eq!(plain["task"]["title"], "buy milk");
}

#[tokio::test]
async fn parse_refuses_unknown_zones_long_texts_and_missing_tokens() {
    let app = app().await;
    let (status, body) = parse(&app, json!({"text": "x", "timezone": "Mars/Olympus"})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (422, "validation_failed")
    );
    let (status, body) = parse(&app, json!({"text": "x".repeat(1001)})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (422, "validation_failed")
    );
    let (status, body) = parse(&app, json!({"txt": "x"})).await;
    assert_eq!(status, 422, "{body}");
    let response = app
        .client
        .post(format!("{}/api/tasks/parse", app.address))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_openapi_document_describes_parse_and_the_assistant_routes() {
    let app = app().await;
    let spec: Value = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send_json()
        .await;
    for path in [
        "/api/tasks/parse",
        "/api/tasks/{id}/snooze",
        "/api/assistant/status",
        "/api/assistant/threads",
        "/api/assistant/threads/{id}/items",
        "/api/assistant/threads/{id}/messages",
        "/api/assistant/confirmations/{id}",
    ] {
        assert!(spec["paths"].get(path).is_some(), "missing {path}");
    }
    let answer = &spec["components"]["schemas"]["ParsedTask"]["properties"];
    assert!(
        answer.get("task").is_some() && answer.get("spans").is_some(),
        "{answer}"
    );
}
