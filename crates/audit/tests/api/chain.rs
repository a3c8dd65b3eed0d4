//! Append-only storage, the hash chain, and tamper detection.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{record, spawn_audit};

#[tokio::test]
async fn the_database_refuses_update_delete_and_truncate_on_the_audit_log() {
    let app = spawn_audit().await;
    record(&app, "alice", 2).await;
    for statement in [
        "UPDATE audit_log SET actor = 'system'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let error = sqlx::query(statement)
            .execute(&app.pool)
            .await
            .expect_err(statement);
        assert!(error.to_string().contains("append-only"), "{error}");
    }
    assert_eq!(app.rows().await, 2);
    assert_eq!(app.verify("alice").await["intact"], true);
}

#[tokio::test]
async fn a_row_changed_behind_the_triggers_back_is_reported_as_the_first_broken_entry() {
    let app = spawn_audit().await;
    let ids = record(&app, "alice", 4).await;
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": true, "entries": 4, "first_broken_event_id": null})
    );
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE audit_log SET snapshot = jsonb_set(snapshot, '{title}', '\"forged\"') \
         WHERE event_id = $1",
    )
    .bind(ids[2])
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": false, "entries": 4, "first_broken_event_id": ids[2]})
    );
}

#[tokio::test]
async fn a_deleted_row_breaks_the_chain_at_its_successor() {
    let app = spawn_audit().await;
    let ids = record(&app, "alice", 3).await;
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE event_id = $1")
        .bind(ids[1])
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": false, "entries": 2, "first_broken_event_id": ids[2]})
    );
}

#[tokio::test]
async fn users_see_and_verify_only_their_own_entries() {
    let app = spawn_audit().await;
    let alice = record(&app, "alice", 3).await;
    let bob = record(&app, "bob", 2).await;
    let bob_items = app.entries("bob", "").await;
    let seen: Vec<Uuid> = bob_items
        .iter()
        .map(|e| serde_json::from_value(e["event_id"].clone()).unwrap())
        .collect();
    assert_eq!(seen, bob.iter().rev().copied().collect::<Vec<_>>());
    assert!(seen.iter().all(|id| !alice.contains(id)));
    // Bob filtering on Alice's task sees nothing either.
    let alice_task = app.entries("alice", "").await[0]["task_id"].clone();
    let query = format!("?task_id={}", alice_task.as_str().unwrap());
    assert!(app.entries("bob", &query).await.is_empty());
    assert_eq!(
        app.verify("bob").await,
        json!({"intact": true, "entries": 2, "first_broken_event_id": null})
    );
    assert_eq!(app.verify("carol").await["entries"], 0);
    assert_eq!(app.verify("carol").await["intact"], true);
}
