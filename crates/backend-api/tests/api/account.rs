//! Account deletion: `DELETE /api/account` erases the caller's rows in one transaction with the
//! `user-deleted` event, leaves every other user's alone, refuses the erased user's tokens from
//! then on, creates nothing for a request that passed its token check before, and is idempotent.

use std::time::Duration;

use common::outbox::OutboxEntry;
use common::tasks::insert_task;
use reqwest::Method;
use serde_json::{Value, json};
use testkit::{eventually, task};
use uuid::Uuid;

use crate::helpers::{TestApp, error_code, spawn_app};

async fn count(app: &TestApp, sql: &str, user: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// How many tasks `user` has.
async fn tasks_of(app: &TestApp, user: &str) -> i64 {
    count(app, "SELECT count(*) FROM tasks WHERE user_id = $1", user).await
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

    // Her tokens, issued before, are refused from the commit on (bob's still work).
    for (method, path) in [
        (Method::GET, "/api/tasks"),
        (Method::POST, "/api/tasks"),
        (Method::POST, "/api/calendar-feed"),
        (Method::DELETE, "/api/account"),
    ] {
        let response = app
            .request(method.clone(), path, "alice")
            .json(&json!({"title": "after"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    assert_eq!(tasks_of(&app, "alice").await, 0);
    let (status, _) = app.get_json("bob", "/api/tasks").await;
    assert_eq!(status, 200);
}

/// A request that passed its token check before the erasure committed (or reached a replica
/// not told yet) creates no task, view, agent token or calendar feed (410) and erases nothing
/// twice.
#[tokio::test]
async fn a_request_past_its_token_check_creates_nothing_for_an_erased_account_nor_erases_it_twice()
{
    let app = spawn_app().await;
    // Once this replica has loaded the erased accounts (its first request waits for that), "mo"
    // is erased without the notification: its token check still lets "mo" through.
    assert_eq!(app.get_json("mo", "/api/tasks").await.0, 200);
    testkit::mark_erased(&app.pool, "mo", false).await;
    let response = app.create("mo", json!({"title": "after"})).await;
    assert_eq!(response.status(), 410);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "account_deleted");
    for (path, body) in [
        (
            "/api/views",
            json!({"name": "after", "query": "status=pending"}),
        ),
        ("/api/agent-tokens", json!({"label": "after"})),
        ("/api/calendar-feed", json!({})),
    ] {
        let response = app
            .request(Method::POST, path, "mo")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 410, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "account_deleted", "{path}");
    }
    assert!(
        rows_of(&app, "mo").await.iter().all(|(_, n)| *n == 0),
        "{:?}",
        rows_of(&app, "mo").await
    );

    assert_eq!(delete_account(&app, "mo").await, 204);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE partition_key = $1",
            "mo"
        )
        .await,
        0,
        "no second user-deleted"
    );
    // The erasure it reached tells this replica at once.
    let (status, _) = app.get_json("mo", "/api/tasks").await;
    assert_eq!(status, 401);
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
    assert_eq!(tasks_of(&app, "carol").await, 0);
    assert_eq!(tasks_of(&app, "dave").await, 1);

    let response = reqwest::Client::new()
        .delete(app.url("/api/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// Whether a session of the test's database whose statement starts with `statement` waits for
/// a lock.
async fn waits_for_a_lock(app: &TestApp, statement: &str) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND starts_with(ltrim(query), $1))",
    )
    .bind(statement)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_create_whose_statement_began_before_the_erasure_leaves_nothing_behind() {
    let app = spawn_app().await;
    app.create_ok("erin", json!({"title": "before"})).await;

    // A create statement of erin's that has read `erased_users` (not erased yet) and is held
    // before its commit: an uncommitted row of another user has its task's id, so its insert
    // waits for that transaction.
    let raced = task("erin", "raced");
    let event = OutboxEntry {
        event_id: Uuid::now_v7(),
        pubsub: "pubsub",
        topic: "task-created",
        partition_key: "erin".to_owned(),
        envelope: json!({"data": {"task_id": raced.id}}),
    };
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("INSERT INTO tasks (id, user_id, title) VALUES ($1, 'frank', 'holder')")
        .bind(raced.id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let pool = app.pool.clone();
    let create = tokio::spawn(async move {
        let mut conn = pool.acquire().await.unwrap();
        insert_task(&mut conn, &raced, &event).await
    });
    let deadline = Duration::from_secs(10);
    eventually(deadline, "the create waiting", || async {
        waits_for_a_lock(&app, "WITH task AS").await.then_some(())
    })
    .await;

    // The erasure, while that statement is in flight: it either waits for it or (the race this
    // guards against) commits first.
    let erasure = tokio::spawn(app.request(Method::DELETE, "/api/account", "erin").send());
    eventually(deadline, "the erasure done or waiting", || async {
        (erasure.is_finished() || waits_for_a_lock(&app, "LOCK TABLE tasks").await).then_some(())
    })
    .await;
    holder.rollback().await.unwrap();
    create.await.unwrap().unwrap();
    assert_eq!(erasure.await.unwrap().unwrap().status(), 204);

    assert_eq!(
        tasks_of(&app, "erin").await,
        0,
        "the raced task must go with the account"
    );
    let topics: Vec<String> =
        sqlx::query_scalar("SELECT topic FROM outbox WHERE partition_key = 'erin'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(topics, ["user-deleted"], "nothing may follow user-deleted");
}

#[tokio::test]
async fn an_erasure_kept_waiting_by_a_task_write_answers_503_and_erases_nothing() {
    let app = spawn_app().await;
    app.create_ok("gina", json!({"title": "kept"})).await;
    // A task write that does not end while the erasure waits for it.
    let mut writer = app.pool.begin().await.unwrap();
    sqlx::query("INSERT INTO tasks (id, user_id, title) VALUES (gen_random_uuid(), 'hal', 'slow')")
        .execute(&mut *writer)
        .await
        .unwrap();

    let response = app
        .request(Method::DELETE, "/api/account", "gina")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "unavailable");
    assert_eq!(tasks_of(&app, "gina").await, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM erased_users WHERE user_id = $1",
            "gina"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE topic = 'user-deleted' AND partition_key = $1",
            "gina"
        )
        .await,
        0
    );

    // Once the write is over, the same call erases.
    writer.commit().await.unwrap();
    assert_eq!(delete_account(&app, "gina").await, 204);
    assert_eq!(tasks_of(&app, "gina").await, 0);
}

/// Spawns `user`'s erasure and returns once it waits for the task writes under way.
async fn erasure_waiting(app: &TestApp, user: &str) -> tokio::task::JoinHandle<u16> {
    let erasure = tokio::spawn(app.request(Method::DELETE, "/api/account", user).send());
    eventually(Duration::from_secs(10), "the erasure waiting", || async {
        let waiting = waits_for_a_lock(app, "LOCK TABLE tasks").await
            || waits_for_a_lock(app, "DELETE FROM tasks").await;
        waiting.then_some(())
    })
    .await;
    tokio::spawn(async move { erasure.await.unwrap().unwrap().status().as_u16() })
}

/// The id of a task created for `user`.
async fn created(app: &TestApp, user: &str) -> Uuid {
    app.create_ok(user, json!({"title": "a task"})).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A transaction that ran `sql` with task `id`, still open.
async fn begun_with(
    app: &TestApp,
    sql: &str,
    id: Uuid,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
    tx
}

/// An edit that locked its task's row before the erasure began (as every update, completion and
/// snooze does, and recurring reading a completed task) writes it and commits; then the
/// erasure deletes it. Neither waits for the other in a circle (a deadlock, aborting one).
#[tokio::test]
async fn an_edit_under_way_finishes_before_the_erasure_and_neither_fails() {
    let app = spawn_app().await;
    let id = created(&app, "ivy").await;
    let mut edit = begun_with(&app, "SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", id).await;
    let erasure = erasure_waiting(&app, "ivy").await;
    sqlx::query("UPDATE tasks SET title = 'edited' WHERE id = $1")
        .bind(id)
        .execute(&mut *edit)
        .await
        .unwrap();
    edit.commit().await.unwrap();
    assert_eq!(erasure.await.unwrap(), 204);
    assert_eq!(tasks_of(&app, "ivy").await, 0);
}

/// The erasure deletes the account's tasks before it holds off every task write
/// ([`erasure_waiting`]'s lock): however long that takes (here: kept waiting by an edit of one
/// of them), the other users' creates go on, and the erasure then finishes.
#[tokio::test]
async fn other_users_write_while_an_erasure_deletes_the_accounts_tasks() {
    let app = spawn_app().await;
    created(&app, "una").await;
    let edited = created(&app, "una").await;
    let edit = begun_with(&app, "SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", edited).await;
    let erasure = erasure_waiting(&app, "una").await;

    // Held off by the lock, this create would wait until the erasure gave up (503).
    app.create_ok("vic", json!({"title": "meanwhile"})).await;

    edit.commit().await.unwrap();
    assert_eq!(erasure.await.unwrap(), 204);
    assert_eq!(tasks_of(&app, "una").await, 0);
    assert_eq!(tasks_of(&app, "vic").await, 1);
}

/// An edit of one of the account's tasks that waits for the erasure's delete of it holds its
/// lock on `tasks` while the erasure asks to hold off every task write: each waits for the
/// other, and Postgres ends one of them (40P01). The one ended answers 503 (tried again, it goes
/// through), never 500.
#[tokio::test]
async fn an_edit_caught_in_a_deadlock_with_the_erasure_answers_503_and_the_erasure_finishes() {
    let app = spawn_app().await;
    let id = created(&app, "wyn").await;
    // Keeps the erasure's delete of the task waiting until the edit waits behind it.
    let held = begun_with(&app, "SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", id).await;
    let erasure = erasure_waiting(&app, "wyn").await;
    let edit = tokio::spawn(
        app.request(Method::PATCH, &format!("/api/tasks/{id}"), "wyn")
            .json(&json!({"title": "edited"}))
            .send(),
    );
    eventually(Duration::from_secs(10), "the edit waiting too", || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (waiting == 2).then_some(())
    })
    .await;
    held.commit().await.unwrap();

    let erased = erasure.await.unwrap();
    let edited = edit.await.unwrap().unwrap().status().as_u16();
    let mut statuses = [erased, edited];
    statuses.sort_unstable();
    assert!(
        statuses == [204, 503] || statuses == [200, 503],
        "erasure {erased}, edit {edited}"
    );
    if erased == 503 {
        assert_eq!(delete_account(&app, "wyn").await, 204);
    }
    assert_eq!(tasks_of(&app, "wyn").await, 0);
}

/// A move to the trash (or a create with an idempotency key) under way when the erasure began
/// adds its row after the erasure cleared that table: the erasure clears it again. And a
/// trashed task that outlived an erasure all the same cannot be restored for the erased
/// account (410), nor come back with an event.
#[tokio::test]
async fn nothing_comes_back_from_the_trash_of_an_erased_account() {
    let app = spawn_app().await;
    let id = created(&app, "jo").await;
    let mut binning = begun_with(&app, "DELETE FROM tasks WHERE id = $1", id).await;
    let erasure = erasure_waiting(&app, "jo").await;
    sqlx::query("INSERT INTO trashed_tasks (id, user_id, task) VALUES ($1, 'jo', '{}')")
        .bind(id)
        .execute(&mut *binning)
        .await
        .unwrap();
    // As a create with an idempotency key under way records its answer (the task in it).
    sqlx::query(
        "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, response_status, \
         response_body) VALUES ('jo', 'k1', 'h', 201, '{}')",
    )
    .execute(&mut *binning)
    .await
    .unwrap();
    binning.commit().await.unwrap();
    assert_eq!(erasure.await.unwrap(), 204);
    assert_eq!(
        rows_of(&app, "jo")
            .await
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>(),
        0
    );

    // As if one had slipped through, restored by a request past its token check: it finds the
    // account gone.
    testkit::mark_erased(&app.pool, "lee", false).await;
    let trashed = app
        .create_ok("kim", json!({"title": "kept in the bin"}))
        .await;
    let kim = trashed["id"].as_str().unwrap().to_owned();
    let response = app
        .request(Method::DELETE, &format!("/api/tasks/{kim}"), "kim")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    sqlx::query("UPDATE trashed_tasks SET user_id = 'lee' WHERE id = $1")
        .bind(kim.parse::<Uuid>().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app
        .request(
            Method::POST,
            &format!("/api/tasks/trash/{kim}/restore"),
            "lee",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 410);
    assert_eq!(tasks_of(&app, "lee").await, 0);
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE partition_key = 'lee' AND topic <> 'user-deleted'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events, 0);
}
