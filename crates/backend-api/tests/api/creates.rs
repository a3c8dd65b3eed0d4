//! Creates written together (`backend_api::tasks::Creates`, `common::tasks::insert_tasks`):
//! each create gets its own answer, whatever else shares its statement.

use std::collections::HashSet;

use backend_api::tasks::Creates;
use backend_api::tasks::creates::{STATEMENT_TIMEOUT, writer_pool};
use chrono::SubsecRound;
use common::db::{KeptConnection, PING_AFTER_IDLE, TakenConnection};
use common::outbox::OutboxEntry;
use common::tasks::{Priority, RecurringMode};
use common::tasks::{Task, insert_tasks};
use futures::future::join_all;
use serde_json::json;
use sqlx::PgPool;
use testkit::fault_proxy::FaultProxy;
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
        // Every column set in some rows, to different values: a column written from another's
        // array would not round-trip. Postgres keeps microseconds.
        let now = chrono::Utc::now().trunc_subsecs(6);
        let hours = |h: i64| Some(now + chrono::Duration::hours(h));
        task.created_at = now;
        task.updated_at = now;
        task.description = format!("about {i}");
        task.priority = [Priority::Low, Priority::Medium, Priority::High][i % 3];
        task.due_date = (i % 2 == 0).then(|| hours(i as i64 + 1)).flatten();
        task.reminder_at = (i % 5 == 0).then(|| hours(-(i as i64) - 1)).flatten();
        if i % 3 == 1 {
            task.recurring_rule = Some("FREQ=WEEKLY;BYDAY=MO".into());
            task.recurring_mode = RecurringMode::Completion;
            task.recurring_end_date = hours(24 * 90 + i as i64);
            task.timezone = "Europe/Berlin".into();
        }
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
        assert_eq!(&row, task);
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
async fn when_the_writer_gets_no_connection_its_creates_answer_unavailable_without_a_second_wait() {
    let (_, url) = fresh_database().await;
    let pool = common::db::connect(&url, 1).await.unwrap();
    let held = pool.acquire().await.unwrap();
    let creates = Creates::start_on(pool.clone(), pool.clone(), STATEMENT_TIMEOUT);
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

/// Stores every one of `tasks` at once: the answers, and how long they took. Bounded (30 s): a
/// group written again one by one would wait on a held lock for good.
async fn answered_in_time(
    creates: &Creates,
    tasks: &[Task],
) -> (Vec<sqlx::Result<Task>>, std::time::Duration) {
    let started = std::time::Instant::now();
    let answers = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        store_all(creates, tasks),
    )
    .await
    .expect("the group answered")
    .unwrap();
    (answers, started.elapsed())
}

/// How many tasks and outbox rows the database holds.
async fn tasks_and_events(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM outbox)")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The writer stores the next create (after a failure: on a new connection).
async fn writes_again(creates: &Creates) {
    let next = task("alice", "after");
    assert_eq!(
        creates.store(next.clone(), event_of(&next)).await.unwrap(),
        next
    );
}

/// A group's statement stuck past the writer's timeout is cancelled by the server: nothing of
/// it is stored, and each of its creates answers 503 (the database is out of reach for now), not
/// stored and not written again one by one. The writer then goes on.
#[tokio::test]
async fn a_group_past_its_timeout_is_cancelled_and_answers_unavailable() {
    let (pool, _) = fresh_database().await;
    let timeout = std::time::Duration::from_millis(1500);
    let creates = Creates::start_on(pool.clone(), writer_pool(&pool, timeout), timeout);
    let tasks = [task("alice", "a"), task("bob", "b"), task("carol", "c")];
    let lock = hold_writer(&pool).await;
    let (answers, waited) = answered_in_time(&creates, &tasks).await;
    lock.rollback().await.unwrap();

    for answer in answers {
        match answer {
            Err(sqlx::Error::Io(error)) => {
                assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{error}");
            }
            other => panic!("not the server's cancel: {other:?}"),
        }
    }
    // The server's timeout, not the writer's own wait past it (5 s more).
    assert!(waited < std::time::Duration::from_secs(4), "{waited:?}");
    let counts = tasks_and_events(&pool).await;
    assert_eq!(counts, (0, 0), "nothing of the cancelled group");
    writes_again(&creates).await;
}

/// A writer's pool for `url` whose connections go through a proxy the test can cut or stall.
async fn proxied_writer(url: &str, timeout: std::time::Duration) -> (FaultProxy, PgPool) {
    let (proxy, through) = FaultProxy::in_front_of(url).await;
    let pool = common::db::connect_lazy(&through, 1).unwrap();
    (proxy, writer_pool(&pool, timeout))
}

/// Waits until no session but the test's own runs a group's statement.
async fn no_group_statement_running(pool: &PgPool) {
    eventually(
        std::time::Duration::from_secs(10),
        "the group's statement over",
        || async {
            let running: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND query LIKE '%unnest(%' AND state <> 'idle'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            (running == 0).then_some(())
        },
    )
    .await;
}

/// Each answer is the writer's "stored or not is unknown" 503.
fn assert_unknown(answers: Vec<sqlx::Result<Task>>) {
    for answer in answers {
        match answer {
            Err(sqlx::Error::Io(error)) => {
                assert_eq!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionAborted,
                    "{error}"
                );
            }
            other => panic!("not an unknown outcome: {other:?}"),
        }
    }
}

/// A group whose connection is lost mid-statement may have committed or not: its creates
/// answer 503 and are not written again (a second write would store a task twice, or answer
/// 409 for its own task). The statement still runs on the server and commits all or nothing;
/// the writer goes on with a new connection.
#[tokio::test]
async fn a_group_whose_connection_is_lost_answers_unavailable_and_is_not_written_again() {
    let (pool, url) = fresh_database().await;
    let (proxy, writer) = proxied_writer(&url, STATEMENT_TIMEOUT).await;
    let creates = Creates::start_on(pool.clone(), writer, STATEMENT_TIMEOUT);
    let tasks = [task("alice", "a"), task("bob", "b"), task("carol", "c")];
    let lock = hold_writer(&pool).await;
    let answers = store_all(&creates, &tasks);
    writer_waiting(&pool).await;
    proxy.cut();
    proxy.restore();
    let answers = tokio::time::timeout(std::time::Duration::from_secs(30), answers)
        .await
        .expect("the group answered")
        .unwrap();
    lock.rollback().await.unwrap();
    assert_unknown(answers);

    no_group_statement_running(&pool).await;
    let counts = tasks_and_events(&pool).await;
    assert!(
        counts == (0, 0) || counts == (3, 3),
        "all or nothing, once: {counts:?}"
    );
    writes_again(&creates).await;
}

/// A group that gets no answer at all (a server or network that went silent; here even the
/// server's cancel at the timeout does not arrive) answers 503 once the grace past its timeout
/// is over, instead of holding every create of the process; the writer goes on with a new
/// connection.
#[tokio::test]
async fn a_group_that_gets_no_answer_answers_unavailable_after_its_grace() {
    let (pool, url) = fresh_database().await;
    let timeout = std::time::Duration::from_millis(1000);
    let (proxy, writer) = proxied_writer(&url, timeout).await;
    let creates = Creates::start_on(pool.clone(), writer.clone(), timeout);
    let first = task("alice", "before");
    creates
        .store(first.clone(), event_of(&first))
        .await
        .unwrap();
    // The writer keeps the connection it wrote on for the next group (were it back in the pool,
    // its release ping would stall, and the group would time out acquiring one instead).
    assert_eq!((writer.size(), writer.num_idle()), (1, 0));

    proxy.stall(true);
    let tasks = [task("alice", "a"), task("bob", "b")];
    let (answers, waited) = answered_in_time(&creates, &tasks).await;
    assert_unknown(answers);
    // The timeout and the grace after it (5 s), not the timeout alone.
    assert!(waited >= std::time::Duration::from_secs(6), "{waited:?}");

    proxy.cut();
    proxy.stall(false);
    proxy.restore();
    let counts = tasks_and_events(&pool).await;
    assert_eq!(
        counts,
        (1, 1),
        "the stalled statement never reached the server"
    );
    writes_again(&creates).await;
}

/// The writer (and the outbox relay) keep their connection between two uses
/// (`common::db::KeptConnection`): a fresh one is taken again as it is, without sqlx's ping of
/// it on its way back to the pool; one idle for `PING_AFTER_IDLE` goes back through the pool
/// first, where one the server closed meanwhile is found and replaced.
#[tokio::test]
async fn a_kept_connection_is_used_again_while_fresh_and_checked_by_its_pool_once_idle() {
    let (pool, _) = fresh_database().await;
    let own = common::db::session_pool(&pool, 1, &[]);
    let mut kept = KeptConnection::new(own.clone());
    let session = |mut conn: TakenConnection| async move {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        (pid, conn)
    };
    let (first, conn) = session(kept.take().await.unwrap()).await;
    kept.put_back(conn);
    // Out of the pool while kept: it never went back in (where it would have been pinged).
    assert_eq!((own.size(), own.num_idle()), (1, 0));
    let (again, conn) = session(kept.take().await.unwrap()).await;
    assert_eq!(again, first);
    kept.put_back(conn);

    // The server closes it while it is kept, and it idles past PING_AFTER_IDLE (on Tokio's
    // clock, which the kept connection reads).
    // (Waits until the backend is gone.)
    sqlx::query("SELECT pg_terminate_backend($1, 5000)")
        .bind(first)
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::pause();
    tokio::time::advance(PING_AFTER_IDLE).await;
    tokio::time::resume();
    let (replaced, conn) = session(kept.take().await.unwrap()).await;
    assert_ne!(
        replaced, first,
        "a closed connection was handed out after idling"
    );

    // Not put back (its use failed): it goes back to the pool.
    drop(conn);
    eventually(
        std::time::Duration::from_secs(10),
        "the connection back in its pool",
        || async { (own.num_idle() == 1).then_some(()) },
    )
    .await;
}
