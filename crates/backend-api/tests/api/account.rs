//! Account deletion: `DELETE /api/account` erases the caller's rows in one transaction with the
//! `user-deleted` event, leaves every other user's alone, refuses new tasks for the erased user
//! (their token outlives the account by up to 15 minutes), and is idempotent.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};

async fn count(app: &TestApp, sql: &str, user: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Every row `user` has in backend-api's tables.
async fn rows_of(app: &TestApp, user: &str) -> Vec<(&'static str, i64)> {
    let mut rows = Vec::new();
    for table in [
        "tasks",
        "trashed_tasks",
        "saved_views",
        "agent_tokens",
        "calendar_feeds",
        "idempotency_keys",
        "assistant_threads",
        "assistant_usage",
    ] {
        let n = count(
            app,
            &format!("SELECT count(*) FROM {table} WHERE user_id = $1"),
            user,
        )
        .await;
        rows.push((table, n));
    }
    rows
}

async fn delete_account(app: &TestApp, user: &str) -> u16 {
    let response = app
        .request(Method::DELETE, "/api/account", user)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(
        status < 500,
        "{status}: {}",
        response.text().await.unwrap_or_default()
    );
    status
}

/// Gives `user` a row in every table the deletion must clear.
async fn fill(app: &TestApp, user: &str) {
    let kept = app.create_ok(user, json!({"title": "kept"})).await;
    let binned = app.create_ok(user, json!({"title": "binned"})).await;
    let response = app
        .request(Method::POST, "/api/tasks", user)
        .header("Idempotency-Key", format!("{user}-once"))
        .json(&json!({"title": "once"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/tasks/{}", binned["id"].as_str().unwrap()),
            user,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    for (path, body) in [
        ("/api/views", json!({"name": "Home", "query": "tag=home"})),
        ("/api/calendar-feed", Value::Null),
    ] {
        let mut request = app.request(Method::POST, path, user);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    // Rows the assistant and the agent-token registry write (their routes need a provider and
    // Better Auth's signature; the rows are what matters here).
    for sql in [
        "INSERT INTO agent_tokens (id, user_id, label, expires_at) \
         VALUES (gen_random_uuid(), $1, 'cli', now() + interval '1 day')",
        "INSERT INTO assistant_threads (id, user_id, title) VALUES (gen_random_uuid(), $1, 'chat')",
        "INSERT INTO assistant_usage (user_id, day, tokens) VALUES ($1, current_date, 5)",
    ] {
        sqlx::query(sql)
            .bind(user)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    assert!(kept["id"].is_string());
}

#[tokio::test]
async fn deleting_the_account_erases_the_callers_rows_and_queues_one_user_deleted_event() {
    let app = spawn_app().await;
    fill(&app, "alice").await;
    fill(&app, "bob").await;
    let before_bob = rows_of(&app, "bob").await;
    assert!(
        rows_of(&app, "alice").await.iter().all(|(_, n)| *n > 0),
        "the test must give alice a row everywhere: {:?}",
        rows_of(&app, "alice").await
    );

    assert_eq!(delete_account(&app, "alice").await, 204);
    let left: Vec<_> = rows_of(&app, "alice")
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(left.is_empty(), "rows of the deleted account: {left:?}");
    assert_eq!(rows_of(&app, "bob").await, before_bob, "bob's rows changed");

    // Alice's events not yet published are gone; one user-deleted event replaces them.
    let alice_events: Vec<(String, Value)> = sqlx::query_as(
        "SELECT topic, envelope FROM outbox WHERE partition_key = 'alice' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(alice_events.len(), 1, "{alice_events:?}");
    let (topic, envelope) = &alice_events[0];
    assert_eq!(topic, "user-deleted");
    assert_eq!(envelope["type"], "com.taskfleet.user-deleted.v1");
    assert_eq!(envelope["data"]["user_id"], "alice");
    assert_eq!(envelope["id"], envelope["data"]["event_id"]);
    assert!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE partition_key = $1 AND topic <> 'user-deleted'",
            "bob"
        )
        .await
            > 0,
        "bob's events must stay"
    );

    // Her token still verifies for a few minutes, but shows and creates nothing.
    let (status, page) = app.get_json("alice", "/api/tasks").await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (200, 0));
    let response = app.create("alice", json!({"title": "after"})).await;
    assert_eq!(response.status(), 410);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "account_deleted");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tasks WHERE user_id = $1",
            "alice"
        )
        .await,
        0
    );

    // Again: nothing more to erase, no second event.
    assert_eq!(delete_account(&app, "alice").await, 204);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE partition_key = $1",
            "alice"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_task_that_slipped_past_the_erasure_is_swept_and_no_caller_without_a_token_deletes() {
    let app = spawn_app().await;
    assert_eq!(delete_account(&app, "carol").await, 204);
    // As a create racing the erasure would leave it: a row written after the erasure.
    sqlx::query(
        "INSERT INTO tasks (id, user_id, title) VALUES (gen_random_uuid(), 'carol', 'raced')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.create_ok("dave", json!({"title": "dave's"})).await;
    let removed = backend_api::account::sweep_erased(&app.pool).await.unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tasks WHERE user_id = $1",
            "carol"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tasks WHERE user_id = $1",
            "dave"
        )
        .await,
        1
    );

    let response = reqwest::Client::new()
        .delete(app.url("/api/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
