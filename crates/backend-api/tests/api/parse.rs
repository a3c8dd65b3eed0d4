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
    let (status, fields) = parse(
        &app,
        json!({"text": "buy milk tomorrow 5pm #home p1", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(status, 200, "{fields}");
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

    let (status, fields) = parse(&app, json!({"text": "stand-up every! weekday at 9:30"})).await;
    assert_eq!(status, 200);
    assert_eq!(fields["title"], "stand-up");
    assert_eq!(fields["recurring_rule"], "weekdays");
    assert_eq!(fields["recurring_mode"], "completion");
    assert_eq!(fields["timezone"], "UTC");
    assert_eq!(fields["due_date"], "2026-11-27T09:30:00Z");
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
        "/api/assistant/status",
        "/api/assistant/threads",
        "/api/assistant/threads/{id}/items",
        "/api/assistant/threads/{id}/messages",
        "/api/assistant/confirmations/{id}",
    ] {
        assert!(spec["paths"].get(path).is_some(), "missing {path}");
    }
}
