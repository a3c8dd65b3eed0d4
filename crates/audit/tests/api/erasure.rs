//! `user-deleted`: the deleted account's entries go, a tombstone (count and last hash, no
//! content) starts their chain again, later events of the account are kept out, and every
//! other user's chain is untouched. Redeliveries change nothing.

use common::events::{CloudEvent, EventType, UserDeleted};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestAudit, record, spawn_audit, task_event};

async fn deliver_user_deleted(app: &TestAudit, event: &UserDeleted) -> String {
    let body = serde_json::to_vec(&CloudEvent::for_user_deleted(
        "backend-api",
        event.clone(),
        None,
    ))
    .unwrap();
    let (status, reply) = app.deliver_raw("user-deleted", body).await;
    assert_eq!(status, 200, "{reply}");
    reply["status"].as_str().unwrap().to_owned()
}

async fn rows_of(app: &TestAudit, user: &str) -> Vec<(String, Option<Value>, String)> {
    sqlx::query_as(
        "SELECT event_type, snapshot, hash FROM audit_log WHERE user_id = $1 ORDER BY id",
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_deleted_account_leaves_a_tombstone_and_nothing_of_its_content() {
    let app = spawn_audit().await;
    record(&app, "alice", 3).await;
    record(&app, "bob", 2).await;
    let bob_before = rows_of(&app, "bob").await;
    let alice_head = rows_of(&app, "alice").await.last().unwrap().2.clone();

    let deleted = UserDeleted::new("alice", Some("req-9".to_owned()));
    // Delivered twice at once and once more later: one tombstone.
    let (first, second) = tokio::join!(
        deliver_user_deleted(&app, &deleted),
        deliver_user_deleted(&app, &deleted)
    );
    assert_eq!((first.as_str(), second.as_str()), ("SUCCESS", "SUCCESS"));
    assert_eq!(deliver_user_deleted(&app, &deleted).await, "SUCCESS");

    let alice = rows_of(&app, "alice").await;
    assert_eq!(alice.len(), 1, "{alice:?}");
    let (event_type, snapshot, _) = &alice[0];
    assert_eq!(event_type, "user-deleted");
    assert_eq!(
        snapshot.clone().unwrap(),
        json!({"erased_entries": 3, "erased_chain_head": alice_head})
    );
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": true, "entries": 1, "first_broken_event_id": null})
    );
    assert_eq!(rows_of(&app, "bob").await, bob_before);
    assert_eq!(app.verify("bob").await["intact"], true);

    // An event of the account that was still on its way is kept out; so is a second deletion.
    let late = task_event(EventType::TaskUpdated, "alice", Uuid::new_v4(), 4);
    assert_eq!(app.deliver(&late).await, "SUCCESS");
    assert_eq!(
        deliver_user_deleted(&app, &UserDeleted::new("alice", None)).await,
        "SUCCESS"
    );
    assert_eq!(rows_of(&app, "alice").await, alice);
    // Bob's chain goes on.
    record(&app, "bob", 1).await;
    assert_eq!(rows_of(&app, "bob").await.len(), 3);
    assert_eq!(app.verify("bob").await["intact"], true);
}

#[tokio::test]
async fn the_erasure_setting_lets_through_only_the_named_users_rows() {
    let app = spawn_audit().await;
    record(&app, "alice", 1).await;
    record(&app, "bob", 1).await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('taskfleet.audit_erasure', 'alice', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query("DELETE FROM audit_log WHERE user_id = 'bob'")
        .execute(&mut *tx)
        .await
        .expect_err("bob's rows are not the erased user's");
    assert!(error.to_string().contains("append-only"), "{error}");
    tx.rollback().await.unwrap();
    // The setting is transaction-local: outside the erasing transaction nothing is deleted.
    let error = sqlx::query("DELETE FROM audit_log WHERE user_id = 'alice'")
        .execute(&app.pool)
        .await
        .expect_err("no erasure in progress");
    assert!(error.to_string().contains("append-only"), "{error}");
    assert_eq!(app.rows().await, 2);
}

#[tokio::test]
async fn a_delivery_that_is_no_user_deleted_event_is_dropped() {
    let app = spawn_audit().await;
    let task = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
    let body = serde_json::to_vec(&crate::helpers::cloudevent(&task)).unwrap();
    let (status, reply) = app.deliver_raw("user-deleted", body).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("DROP")));
    let (status, reply) = app.deliver_raw("user-deleted", b"{".to_vec()).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("DROP")));
}
