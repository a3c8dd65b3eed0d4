//! `POST /api/tasks/{id}/snooze`: the server moves the reminder (its clock, the task's zone)
//! and publishes `task-updated`; someone else's task, a completed one or an unknown choice is
//! refused and nothing changes.

use std::sync::Arc;

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

async fn snooze(app: &TestApp, user: &str, id: &str, body: Value) -> (u16, Value) {
    let response = app
        .request(Method::POST, &format!("/api/tasks/{id}/snooze"), user)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The `changes` of the outbox's last event, with its topic.
async fn last_event(app: &TestApp) -> (String, Value) {
    let (topic, envelope): (String, Value) =
        sqlx::query_as("SELECT topic, envelope FROM outbox ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    (topic, envelope["data"]["data"]["changes"].clone())
}

#[tokio::test]
async fn snoozing_moves_the_reminder_by_the_servers_clock_and_publishes_the_change() {
    let app = app().await;
    let task = app
        .create_ok(
            "alice",
            json!({"title": "Stretch", "reminder_at": "2026-11-26T09:59:00Z",
                   "due_date": "2026-11-26T10:30:00Z", "timezone": "Europe/Berlin"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();

    let (status, ten) = snooze(&app, "alice", id, json!({"for": "10m"})).await;
    assert_eq!(status, 200, "{ten}");
    assert_eq!(ten["reminder_at"], "2026-11-26T10:10:00Z");
    assert_eq!(ten["version"], task["version"].as_i64().unwrap() + 1);
    let (topic, changes) = last_event(&app).await;
    assert_eq!(topic, "task-updated");
    assert_eq!(
        changes.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["reminder_at"]
    );
    assert_eq!(
        changes["reminder_at"],
        json!({"before": "2026-11-26T09:59:00Z", "after": "2026-11-26T10:10:00Z"})
    );

    // An hour may run past the due time: the reminder is the user's to move.
    let (_, hour) = snooze(&app, "alice", id, json!({"for": "1h"})).await;
    assert_eq!(hour["reminder_at"], "2026-11-26T11:00:00Z");

    // Tomorrow morning is 09:00 on the task's wall clock (Berlin, UTC+1 in November).
    let (_, morning) = snooze(&app, "alice", id, json!({"for": "tomorrow"})).await;
    assert_eq!(morning["reminder_at"], "2026-11-27T08:00:00Z");
    let tokyo = app
        .create_ok("alice", json!({"title": "Call", "timezone": "Asia/Tokyo"}))
        .await;
    // At 10:00 UTC it is already 19:00 on Thursday in Tokyo: tomorrow is Friday there.
    let (status, tokyo) = snooze(
        &app,
        "alice",
        tokyo["id"].as_str().unwrap(),
        json!({"for": "tomorrow"}),
    )
    .await;
    assert_eq!(status, 200, "{tokyo}");
    assert_eq!(tokyo["reminder_at"], "2026-11-27T00:00:00Z");
}

#[tokio::test]
async fn a_snooze_the_task_cannot_take_is_refused_and_changes_nothing() {
    let app = app().await;
    let task = app
        .create_ok(
            "alice",
            json!({"title": "Stretch", "reminder_at": "2026-11-26T09:59:00Z"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    let events = app.outbox_topics().await.len();

    // Bob cannot snooze Alice's task, nor learn that it exists.
    let (status, body) = snooze(&app, "bob", id, json!({"for": "10m"})).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));

    let (status, body) = snooze(&app, "alice", id, json!({"for": null})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "malformed_json")
    );
    for bad in [
        json!({"for": "5m"}),
        json!({}),
        json!({"for": "10m", "until": "2030-01-01T00:00:00Z"}),
    ] {
        let (status, body) = snooze(&app, "alice", id, bad.clone()).await;
        assert_eq!(status, 422, "{bad} → {body}");
    }
    let (status, _) = snooze(&app, "alice", "not-a-uuid", json!({"for": "10m"})).await;
    assert_eq!(status, 400);
    let response = app
        .client
        .post(format!("{}/api/tasks/{id}/snooze", app.address))
        .json(&json!({"for": "10m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let completed = app
        .request(Method::POST, &format!("/api/tasks/{id}/complete"), "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), 200);
    let events = events + 1;
    let (status, body) = snooze(&app, "alice", id, json!({"for": "1h"})).await;
    assert_eq!((status, error_code(&body).as_str()), (409, "not_pending"));

    assert_eq!(app.outbox_topics().await.len(), events);
    let (_, stored) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(stored["reminder_at"], "2026-11-26T09:59:00Z");
}
