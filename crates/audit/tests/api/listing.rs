//! `GET /api/audit`: filters, cursor pages, bad input and authentication.

use chrono::{Duration as TimeDelta, Utc};
use common::events::EventType;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{error_code, spawn_audit, task_event};

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn filters_by_task_event_type_and_time_window() {
    let app = spawn_audit().await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let now = Utc::now();
    let mut old = task_event(EventType::TaskCreated, "alice", first, 1);
    old.timestamp = now - TimeDelta::days(10);
    let updated = task_event(EventType::TaskUpdated, "alice", first, 2);
    let other = task_event(EventType::TaskCreated, "alice", second, 1);
    let deleted = task_event(EventType::TaskDeleted, "alice", first, 3);
    for event in [&old, &updated, &other, &deleted] {
        assert_eq!(app.deliver(event).await, "SUCCESS");
    }
    let id = |e: &common::events::TaskEvent| e.event_id.to_string();

    let by_task = app.entries("alice", &format!("?task_id={first}")).await;
    assert_eq!(ids(&by_task), [id(&deleted), id(&updated), id(&old)]);

    let created = app.entries("alice", "?event_type=task-created").await;
    assert_eq!(ids(&created), [id(&other), id(&old)]);

    let since = (now - TimeDelta::days(1)).to_rfc3339();
    let recent = app
        .entries("alice", &format!("?since={}", urlencode(&since)))
        .await;
    assert_eq!(
        ids(&recent),
        [id(&deleted), id(&other), id(&updated)],
        "since excludes the ten-day-old entry"
    );
    let until = (now - TimeDelta::days(1)).to_rfc3339();
    let older = app
        .entries(
            "alice",
            &format!("?until={}&task_id={first}", urlencode(&until)),
        )
        .await;
    assert_eq!(ids(&older), [id(&old)]);
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn cursor_pages_walk_every_entry_newest_first_without_gaps_or_repeats() {
    let app = spawn_audit().await;
    let mut delivered = Vec::new();
    for version in 1..=7 {
        let event = task_event(EventType::TaskUpdated, "alice", Uuid::new_v4(), version);
        assert_eq!(app.deliver(&event).await, "SUCCESS");
        delivered.push(event.event_id.to_string());
    }
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = app.get_json("alice", &format!("/api/audit{query}")).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(ids(page["items"].as_array().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=3&cursor={cursor}"),
            None => break,
        }
        // A new entry appended between pages does not shift the later pages.
        if pages == 1 {
            let late = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
            assert_eq!(app.deliver(&late).await, "SUCCESS");
        }
    }
    delivered.reverse();
    assert_eq!(seen, delivered);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn bad_query_parameters_and_forged_cursors_are_answered_400_with_a_json_error() {
    let app = spawn_audit().await;
    for query in [
        "?limit=0",
        "?limit=201",
        "?limit=ten",
        "?task_id=not-a-uuid",
        "?event_type=reminder-due",
        "?event_type=bogus",
        "?since=yesterday",
        "?until=2026-13-01T00:00:00Z",
        "?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
        "?cursor=forged",
        "?cursor=eyJpZCI6LTF9",
        "?colour=blue",
    ] {
        let (status, body) = app.get_json("alice", &format!("/api/audit{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        error_code(&body);
    }
}

#[tokio::test]
async fn the_audit_api_without_a_valid_token_is_answered_401() {
    let app = spawn_audit().await;
    for path in ["/api/audit", "/api/audit/verify"] {
        let anonymous = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(error_code(&body), "unauthorized");
        let forged = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth("not.a.jwt")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401);
    }
}

/// The trail of a deleted account is erased on `user-deleted`; before that, and whatever its
/// expiry, the account's token reads nothing from the moment the erasure commits.
#[tokio::test]
async fn a_deleted_accounts_token_is_refused_once_the_erasure_commits() {
    let app = spawn_audit().await;
    crate::helpers::record(&app, "alice", 1).await;
    assert_eq!(app.get_json("alice", "/api/audit").await.0, 200);
    testkit::mark_erased(&app.pool, "alice", true).await;
    testkit::refused_once_told(&app.served, "alice", "/api/audit").await;
    assert_eq!(app.get_json("bob", "/api/audit").await.0, 200);
}
