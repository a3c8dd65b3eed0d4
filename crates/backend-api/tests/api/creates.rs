//! Creates written together (`backend_api::tasks::Creates`, `common::tasks::insert_tasks`):
//! each create gets its own answer, whatever else shares its statement.

use std::collections::HashSet;

use backend_api::tasks::Creates;
use common::outbox::OutboxEntry;
use common::tasks::{Task, insert_tasks};
use futures::future::join_all;
use serde_json::json;
use sqlx::PgPool;
use testkit::{eventually, fresh_database, task};
use uuid::Uuid;

fn event_of(task: &Task) -> OutboxEntry {
    OutboxEntry {
        event_id: Uuid::now_v7(),
        pubsub: "pubsub",
        topic: "task-created",
        partition_key: task.user_id.clone(),
        envelope: json!({"data": {"task_id": task.id, "title": task.title}}),
    }
}

/// Makes every statement that reads `erased_users` (as the create statement does) wait until
/// the returned transaction ends.
async fn hold_writer(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE erased_users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    lock
}

/// The sessions of the test's database waiting for a lock.
async fn lock_waiters(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Returns once a writer waits for the lock of [`hold_writer`].
async fn writer_waiting(pool: &PgPool) {
    eventually(
        std::time::Duration::from_secs(10),
        "a writer waiting",
        || async { (lock_waiters(pool).await > 0).then_some(()) },
    )
    .await;
}

/// A fresh database where the account of user `gone` was deleted, and its creates' writer.
async fn with_user_gone_erased() -> (PgPool, Creates) {
    let (pool, _) = fresh_database().await;
    sqlx::query("INSERT INTO erased_users (user_id) VALUES ('gone')")
        .execute(&pool)
        .await
        .unwrap();
    let creates = Creates::start(pool.clone());
    (pool, creates)
}

/// Stores every one of `tasks` at once, in a task of its own.
fn store_all(
    creates: &Creates,
    tasks: &[Task],
) -> tokio::task::JoinHandle<Vec<sqlx::Result<Task>>> {
    let (creates, tasks) = (creates.clone(), tasks.to_vec());
    tokio::spawn(async move {
        join_all(tasks.iter().map(|t| creates.store(t.clone(), event_of(t)))).await
    })
}

/// The statements that stored `ids`: rows written by one statement share its transaction.
async fn statements_of(pool: &PgPool, ids: &[Uuid]) -> usize {
    let xids: Vec<String> = sqlx::query_scalar("SELECT xmin::text FROM tasks WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(pool)
        .await
        .unwrap();
    xids.into_iter().collect::<HashSet<_>>().len()
}

#[tokio::test]
async fn creates_queued_behind_a_busy_writer_go_in_one_statement_and_each_gets_its_answer() {
    let (pool, creates) = with_user_gone_erased().await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let user = ["alice", "bob", "gone"][i % 3];
        let mut task = task(user, &format!("task {i}"));
        // Tags that a joined or quoted encoding would get wrong, and none at all.
        task.tags = match i % 4 {
            0 => vec![],
            1 => vec!["a,b".into(), "\"q\"".into()],
            2 => vec!["{x}".into(), "née".into(), String::new()],
            _ => vec!["work".into()],
        };
        task.reminder_at = (i % 5 == 0).then(chrono::Utc::now);
        tasks.push(task);
    }

    let lock = hold_writer(&pool).await;
    // A current-thread runtime: join_all's first poll queues every create before a writer runs,
    // and the writer takes them all. The lock keeps it from being done before
    // the test looks.
    let stores = store_all(&creates, &tasks);
    writer_waiting(&pool).await;
    lock.rollback().await.unwrap();
    let answers = stores.await.unwrap();

    let mut stored = Vec::new();
    for (task, answer) in tasks.iter().zip(answers) {
        match answer {
            Ok(back) if task.user_id != "gone" => {
                assert_eq!(&back, task);
                stored.push(task.id);
            }
            Err(sqlx::Error::RowNotFound) if task.user_id == "gone" => {}
            other => panic!("{}: {other:?}", task.title),
        }
    }
    assert_eq!(stored.len(), 20);
    for task in tasks.iter().filter(|t| t.user_id != "gone") {
        let row =
            common::tasks::get_task(&mut pool.acquire().await.unwrap(), &task.user_id, task.id)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(row.tags, task.tags, "{}", task.title);
        assert_eq!(row.reminder_at.is_some(), task.reminder_at.is_some());
    }
    let events: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT partition_key, (envelope->'data'->>'task_id')::uuid FROM outbox ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        events.len(),
        20,
        "one event per stored task, none for the erased user"
    );
    assert!(
        events
            .iter()
            .all(|(user, id)| user != "gone" && stored.contains(id))
    );
    let statements = statements_of(&pool, &stored).await;
    assert_eq!(
        statements, 1,
        "the 20 tasks stored by {statements} statements"
    );
}

#[tokio::test]
async fn a_create_the_database_refuses_fails_alone_and_its_group_is_written_without_it() {
    let (pool, creates) = with_user_gone_erased().await;
    // Past the database's own bound on titles (the API refuses it earlier; here it must not
    // take the others down with it).
    let tasks = [
        task("alice", "first"),
        task("alice", "before"),
        task("alice", &"x".repeat(201)),
        task("gone", "erased"),
        task("bob", "after"),
        task("bob", "last"),
    ];

    let lock = hold_writer(&pool).await;
    let stores = store_all(&creates, &tasks);
    writer_waiting(&pool).await;
    lock.rollback().await.unwrap();
    let answers = stores.await.unwrap();

    let outcome: Vec<&str> = answers
        .iter()
        .map(|a| match a {
            Ok(_) => "stored",
            Err(sqlx::Error::RowNotFound) => "erased",
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23514") => "refused",
            Err(other) => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        outcome,
        ["stored", "stored", "refused", "erased", "stored", "stored"]
    );
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    // Written one by one after the group failed: a statement each.
    assert_eq!(statements_of(&pool, &ids).await, 4);
    let in_db: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (in_db, events),
        (4, 4),
        "each stored task once, with its one event"
    );
}

#[tokio::test]
async fn one_statements_events_enter_the_outbox_in_the_order_given() {
    let (pool, _) = fresh_database().await;
    let tasks: Vec<Task> = (0..12).map(|i| task("alice", &format!("t{i}"))).collect();
    let events: Vec<OutboxEntry> = tasks.iter().map(event_of).collect();
    // Given newest first, so that an order by id or by time could not pass by chance.
    let rows: Vec<(&Task, &OutboxEntry)> = tasks.iter().zip(&events).rev().collect();
    let stored = insert_tasks(&mut pool.acquire().await.unwrap(), &rows)
        .await
        .unwrap();
    assert_eq!(stored.len(), 12);
    let order: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let given: Vec<Uuid> = rows.iter().map(|(_, e)| e.event_id).collect();
    assert_eq!(order, given);
}

#[tokio::test]
async fn a_retry_that_finds_its_task_stored_answers_stored_and_writes_no_second_event() {
    // What a group whose commit went through, and whose answer was lost with its connection,
    // leaves behind: the task and its event, already stored.
    let (pool, _) = fresh_database().await;
    let creates = Creates::start(pool.clone());
    let task = task("alice", "committed, answer lost");
    let event = event_of(&task);
    common::tasks::insert_task(&mut pool.acquire().await.unwrap(), &task, &event)
        .await
        .unwrap();

    let back = creates.store(task.clone(), event_of(&task)).await.unwrap();

    assert_eq!(back, task);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn when_the_writer_gets_no_connection_its_creates_answer_unavailable_without_a_second_wait() {
    let (_, url) = fresh_database().await;
    let pool = common::db::connect(&url, 1).await.unwrap();
    let held = pool.acquire().await.unwrap();
    let creates = Creates::start(pool.clone());
    let task = task("alice", "no connection");
    // Nothing but the pool's timeout is awaited from here: paused time jumps to it.
    tokio::time::pause();
    let started = tokio::time::Instant::now();
    let answer = creates.store(task.clone(), event_of(&task)).await;
    let waited = started.elapsed();
    assert!(
        matches!(answer, Err(sqlx::Error::PoolTimedOut)),
        "{answer:?}"
    );
    // One acquire timeout (5 s), not the writer's and then the request's own.
    assert!(waited < std::time::Duration::from_secs(8), "{waited:?}");
    drop(held);
}

#[tokio::test]
async fn a_group_past_its_timeout_is_written_create_by_create_and_each_task_is_stored_once() {
    let (pool, _) = fresh_database().await;
    let creates = Creates::start_with_timeout(pool.clone(), std::time::Duration::from_secs(1));
    let tasks = [task("alice", "a"), task("bob", "b"), task("carol", "c")];
    let lock = hold_writer(&pool).await;
    let stores = store_all(&creates, &tasks);
    // The group's statement, abandoned after its second, still waits on the server; then each
    // request's own insert waits behind it.
    eventually(
        std::time::Duration::from_secs(20),
        "the group and three lone creates waiting",
        || async { (lock_waiters(&pool).await == 4).then_some(()) },
    )
    .await;
    lock.rollback().await.unwrap();

    // Whichever of the group and the lone inserts commits a task first, the other finds it.
    for (task, answer) in tasks.iter().zip(stores.await.unwrap()) {
        assert_eq!(&answer.unwrap(), task);
    }
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tasks WHERE id = ANY($1)), (SELECT count(*) FROM outbox)",
    )
    .bind(&ids)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts, (3, 3), "each task and its event once");
}
