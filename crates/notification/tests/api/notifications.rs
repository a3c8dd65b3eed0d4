//! The notifications API: lists, paging, read state, deletion, isolation, bad input.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    error_code, fresh_database, insert_notification, spawn_instance, with_scheduler,
};

pub async fn mark(
    instance: &crate::helpers::Instance,
    user: &str,
    id: &str,
    body: Value,
) -> (u16, Value) {
    let response = instance
        .request(Method::PATCH, &format!("/api/notifications/{id}"), user)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn unread_count(instance: &crate::helpers::Instance, user: &str) -> i64 {
    let (status, body) = instance
        .get_json(user, "/api/notifications/unread-count")
        .await;
    assert_eq!(status, 200, "{body}");
    body["count"].as_i64().unwrap()
}

#[tokio::test]
async fn listing_returns_the_callers_notifications_newest_first_in_cursor_pages() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(insert_notification(&pool, "alice", &format!("a{i}")).await);
    }
    insert_notification(&pool, "bob", "b0").await;

    let mut seen = Vec::new();
    let mut path = "/api/notifications?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = instance.get_json("alice", &path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|i| i["title"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/notifications?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        ["a4", "a3", "a2", "a1", "a0"],
        "newest first, no gaps"
    );
    let (_, all) = instance.get_json("alice", "/api/notifications").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert!(all["next_cursor"].is_null());
    let item = &all["items"][0];
    for field in [
        "id",
        "task_id",
        "kind",
        "title",
        "body",
        "reminder_at",
        "created_at",
        "read",
        "read_at",
    ] {
        assert!(item.get(field).is_some(), "missing {field}: {item}");
    }
}

#[tokio::test]
async fn marking_read_and_unread_drives_the_unread_filter_and_the_unread_count() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let first = insert_notification(&pool, "alice", "first").await;
    insert_notification(&pool, "alice", "second").await;
    insert_notification(&pool, "alice", "third").await;
    assert_eq!(unread_count(&instance, "alice").await, 3);

    let (status, item) = mark(
        &instance,
        "alice",
        &first.to_string(),
        json!({"read": true}),
    )
    .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["read"], true);
    assert!(item["read_at"].is_string());
    let read_at = item["read_at"].clone();
    let (_, again) = mark(
        &instance,
        "alice",
        &first.to_string(),
        json!({"read": true}),
    )
    .await;
    assert_eq!(
        again["read_at"], read_at,
        "marking read twice keeps the first time"
    );
    assert_eq!(unread_count(&instance, "alice").await, 2);

    let (_, unread) = instance
        .get_json("alice", "/api/notifications?unread=true")
        .await;
    let titles: HashSet<&str> = unread["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, HashSet::from(["second", "third"]));
    let (_, everything) = instance
        .get_json("alice", "/api/notifications?unread=false")
        .await;
    assert_eq!(everything["items"].as_array().unwrap().len(), 3);

    let (status, item) = mark(
        &instance,
        "alice",
        &first.to_string(),
        json!({"read": false}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(item["read"], false);
    assert!(item["read_at"].is_null());
    assert_eq!(unread_count(&instance, "alice").await, 3);
}

#[tokio::test]
async fn read_all_marks_only_the_callers_unread_notifications_and_reports_how_many() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let first = insert_notification(&pool, "alice", "first").await;
    insert_notification(&pool, "alice", "second").await;
    insert_notification(&pool, "alice", "third").await;
    insert_notification(&pool, "bob", "bob's").await;
    mark(
        &instance,
        "alice",
        &first.to_string(),
        json!({"read": true}),
    )
    .await;

    let response = instance
        .request(Method::POST, "/api/notifications/read-all", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["updated"], 2);
    assert_eq!(unread_count(&instance, "alice").await, 0);
    assert_eq!(unread_count(&instance, "bob").await, 1);
}

#[tokio::test]
async fn deleting_a_notification_removes_it_and_a_second_delete_is_404() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let id = insert_notification(&pool, "alice", "gone").await;
    let keep = insert_notification(&pool, "alice", "kept").await;
    let path = format!("/api/notifications/{id}");
    let response = instance
        .request(Method::DELETE, &path, "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (_, page) = instance.get_json("alice", "/api/notifications").await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [keep.to_string()]);
    let response = instance
        .request(Method::DELETE, &path, "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "not_found");
}

#[tokio::test]
async fn another_users_notification_is_a_404_for_every_verb_and_absent_from_their_list() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let id = insert_notification(&pool, "alice", "private").await;
    let path = format!("/api/notifications/{id}");

    let (status, body) = mark(&instance, "bob", &id.to_string(), json!({"read": true})).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "not_found");
    let response = instance
        .request(Method::DELETE, &path, "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, page) = instance.get_json("bob", "/api/notifications").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"], json!([]));
    assert_eq!(unread_count(&instance, "bob").await, 0);
    let response = instance
        .request(Method::POST, "/api/notifications/read-all", "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["updated"], 0);

    let (_, mine) = instance.get_json("alice", "/api/notifications").await;
    assert_eq!(mine["items"][0]["read"], false, "bob changed nothing");
}

#[tokio::test]
async fn a_deleted_account_loses_its_notifications_and_subscribes_for_that() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, crate::helpers::cron_only()).await;
    let alice = insert_notification(&pool, "alice", "Call mum").await;
    insert_notification(&pool, "bob", "Pay rent").await;
    sqlx::query(
        "INSERT INTO fired_reminders (task_id, reminder_at, notification_id) \
         SELECT task_id, reminder_at, id FROM notifications",
    )
    .execute(&pool)
    .await
    .unwrap();

    let subscriptions: Value = instance
        .client
        .get(format!("{}/dapr/subscribe", instance.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        subscriptions,
        json!([{"pubsubname": "pubsub", "topic": "reminder-due", "route": "/events/reminder-due",
                "deadLetterTopic": "notification-reminder-due-dlq"},
               {"pubsubname": "pubsub", "topic": "user-deleted", "route": "/events/user-deleted",
                "deadLetterTopic": "notification-user-deleted-dlq"},
               {"pubsubname": "pubsub", "topic": "notification-reminder-due-dlq",
                "route": "/dead-letters/reminder-due"},
               {"pubsubname": "pubsub", "topic": "notification-user-deleted-dlq",
                "route": "/dead-letters/user-deleted"}])
    );

    let body = crate::helpers::user_deleted("alice");
    assert_eq!(
        instance.deliver("user-deleted", body.clone()).await,
        "SUCCESS"
    );
    assert_eq!(instance.deliver("user-deleted", body).await, "SUCCESS");
    assert_eq!(
        instance
            .deliver("user-deleted", b"not an event".to_vec())
            .await,
        "DROP"
    );
    let left: Vec<(String, i64)> = sqlx::query_as(
        "SELECT n.user_id, count(f.*) FROM notifications n \
         LEFT JOIN fired_reminders f ON f.notification_id = n.id GROUP BY n.user_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(left, [("bob".to_owned(), 1)]);
    let orphans: i64 =
        sqlx::query_scalar("SELECT count(*) FROM fired_reminders WHERE notification_id = $1")
            .bind(alice)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(orphans, 0);
}

/// Whatever its expiry, a deleted account's token reads and registers nothing here from the
/// moment the erasure commits (its push subscriptions could otherwise come back after
/// `user-deleted` removed them).
#[tokio::test]
async fn a_deleted_accounts_token_is_refused_once_the_erasure_commits() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, crate::helpers::cron_only()).await;
    insert_notification(&pool, "alice", "Call mum").await;
    assert_eq!(
        instance.get_json("alice", "/api/notifications").await.0,
        200
    );
    testkit::mark_erased(&pool, "alice", true).await;
    testkit::refused_once_told(&instance, "alice", "/api/notifications").await;
    let response = instance
        .request(Method::POST, "/api/push/subscriptions", "alice")
        .json(&json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": "p", "auth": "a"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(instance.get_json("bob", "/api/notifications").await.0, 200);
}
