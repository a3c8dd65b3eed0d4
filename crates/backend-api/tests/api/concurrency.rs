use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_returns_the_first_task_and_creates_one() {
    let app = spawn_app().await;
    let post = |key: &'static str, title: &'static str| {
        app.request(Method::POST, "/api/tasks", "alice")
            .header("idempotency-key", key)
            .json(&json!({"title": title}))
            .send()
    };
    let first = post("k-1", "pay rent").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = post("k-1", "pay rent").await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    let reused = post("k-1", "something else").await.unwrap();
    assert_eq!(reused.status(), 422);
    // The same key of another user is another key.
    let bob = app
        .request(Method::POST, "/api/tasks", "bob")
        .header("idempotency-key", "k-1")
        .json(&json!({"title": "pay rent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bob.status(), 201);
    assert_ne!(bob.json::<Value>().await.unwrap()["id"], first["id"]);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(app.outbox_topics().await.len(), 2);
}

#[tokio::test]
async fn concurrent_posts_with_one_idempotency_key_create_one_task() {
    let app = spawn_app().await;
    let responses = join_all((0..8).map(|_| {
        app.request(Method::POST, "/api/tasks", "alice")
            .header("idempotency-key", "same")
            .json(&json!({"title": "once"}))
            .send()
    }))
    .await;
    let mut ids = std::collections::HashSet::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), 201);
        ids.insert(
            response.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 1);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn two_concurrent_patches_with_the_same_if_match_give_one_200_and_one_412() {
    let app = spawn_app().await;
    let task = app.create_ok("alice", json!({"title": "a"})).await;
    let id = task["id"].as_str().unwrap();
    for round in 0..5 {
        let (_, current) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
        let etag = format!("\"{}\"", current["version"]);
        let patch = |title: String| {
            app.request(Method::PATCH, &format!("/api/tasks/{id}"), "alice")
                .header("if-match", etag.clone())
                .json(&json!({"title": title}))
                .send()
        };
        let (a, b) = tokio::join!(patch(format!("a{round}")), patch(format!("b{round}")));
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    let (_, last) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(last["version"], 6);
    assert_eq!(app.outbox_topics().await.len(), 6);
}

#[tokio::test]
async fn idempotency_keys_are_forgotten_after_their_retention() {
    let app = spawn_app().await;
    let post = || {
        app.request(Method::POST, "/api/tasks", "alice")
            .header("idempotency-key", "old")
            .json(&json!({"title": "a"}))
            .send()
    };
    let first: Value = post().await.unwrap().json().await.unwrap();
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    // The service's own janitor may prune the key first; either way it must be gone.
    backend_api::tasks::prune_idempotency_keys(
        &app.pool,
        backend_api::tasks::IDEMPOTENCY_KEY_RETENTION,
    )
    .await
    .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM idempotency_keys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let second: Value = post().await.unwrap().json().await.unwrap();
    assert_ne!(
        first["id"], second["id"],
        "an expired key no longer replays"
    );
}
