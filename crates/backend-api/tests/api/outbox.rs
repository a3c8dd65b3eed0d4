use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::dapr::DaprClient;
use common::outbox::{OutboxRelay, RelaySettings};
use dev_sidecar::{AppSpec, SidecarConfig};
use futures::future::join_all;
use serde_json::json;
use testkit::{ReservedPort, reserve_port};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::helpers::{free_port, fresh_database, spawn_app_with_sidecar};

async fn start_sidecar(
    app_id: &str,
    app_port: u16,
    sidecar: ReservedPort,
) -> dev_sidecar::DevSidecar {
    let spec = AppSpec {
        sidecar_port: sidecar.port,
        ..AppSpec::new(app_id, app_port)
    };
    let resources = testkit::resources(testkit::IN_MEMORY_PUBSUB);
    dev_sidecar::start_with_listeners(
        SidecarConfig {
            resources_dir: resources.path(),
            apps: vec![spec],
            delivery: None,
            ..SidecarConfig::default()
        },
        HashMap::from([(app_id.to_owned(), sidecar.into_listener())]),
    )
    .await
    .unwrap()
}

async fn wait_until(deadline: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn writes_while_the_sidecar_is_down_are_kept_and_published_once_each_in_per_user_order_when_it_returns()
 {
    let sidecar = reserve_port();
    let app = spawn_app_with_sidecar(sidecar.port).await;
    let users = ["alice", "bob", "carol", "dave"];
    for i in 0..100 {
        app.create_ok(users[i % users.len()], json!({"title": format!("t{i}")}))
            .await;
    }
    // Give the relay time to (fail to) publish before checking nothing left the outbox.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        unpublished, 100,
        "nothing is published or lost while the sidecar is down"
    );
    let mut expected: HashMap<&str, Vec<String>> = HashMap::new();
    for user in users {
        let ids: Vec<Uuid> =
            sqlx::query_scalar("SELECT event_id FROM outbox WHERE partition_key = $1 ORDER BY id")
                .bind(user)
                .fetch_all(&app.pool)
                .await
                .unwrap();
        expected.insert(user, ids.iter().map(Uuid::to_string).collect());
    }

    let app_port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let sidecar = start_sidecar("backend-api", app_port, sidecar).await;
    wait_until(Duration::from_secs(20), || sidecar.published().len() >= 100).await;
    // Give a duplicate the chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let published = sidecar.published();
    assert_eq!(published.len(), 100);
    let ids: HashSet<String> = published
        .iter()
        .map(|m| m.envelope["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 100, "an event was published twice");
    for user in users {
        let order: Vec<String> = published
            .iter()
            .filter(|m| m.partition_key.as_deref() == Some(user))
            .map(|m| m.envelope["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(&order, &expected[user], "order of {user}'s events");
    }
    let first = &published[0].envelope;
    assert_eq!(first["source"], "backend-api");
    assert_eq!(first["type"], "com.taskfleet.task-created.v1");
    assert_eq!(first["datacontenttype"], "application/json");
    assert_eq!(first["data"]["event_id"], first["id"]);
    assert!(
        first["traceparent"]
            .as_str()
            .is_some_and(|t| t.starts_with("00-"))
    );
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(unpublished, 0);
    sidecar.shutdown().await;
}

#[tokio::test]
async fn an_event_is_published_promptly_once_the_sidecar_is_up() {
    let sidecar = reserve_port();
    let app = spawn_app_with_sidecar(sidecar.port).await;
    let app_port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let sidecar = start_sidecar("backend-api", app_port, sidecar).await;
    // Let the relay find the sidecar and go idle, so the next event is sent on the commit's
    // wake-up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let task = app.create_ok("alice", json!({"title": "now"})).await;
    wait_until(Duration::from_secs(5), || sidecar.published().len() == 1).await;
    assert_eq!(
        sidecar.published()[0].envelope["data"]["data"]["task_id"],
        task["id"]
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn two_relays_on_one_database_publish_each_row_once_and_keep_each_users_order() {
    let (pool, _url) = fresh_database().await;
    let (sidecar_port, sidecar) = publishing_sidecar().await;
    for n in 0..300 {
        enqueue_raw(&pool, "pubsub", &format!("user-{}", n % 7), n).await;
    }
    let settings = RelaySettings {
        batch_size: 25,
        ..RelaySettings::default()
    };
    race_relays(&pool, sidecar_port, &settings, 2).await;
    let published = sidecar.published();
    let ids: HashSet<String> = published
        .iter()
        .map(|m| m.envelope["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!((published.len(), ids.len()), (300, 300));
    assert_each_users_order(&published, 7);
    sidecar.shutdown().await;
}

/// A relay sleeping for its (hour-long) poll publishes a row at once when a transaction of its
/// process that enqueued it commits through `outbox::commit`: writes do not NOTIFY any more.
#[tokio::test]
async fn a_commit_in_the_relays_process_wakes_it_at_once() {
    let (pool, _, sidecar, relay) = relay_on_fresh_database(RelaySettings {
        poll_interval: Duration::from_secs(3600),
        ..RelaySettings::default()
    })
    .await;
    let shutdown = common::CancellationToken::new();
    let running = tokio::spawn(relay.run(shutdown.clone()));
    // Let its first pass find nothing; it then sleeps for the hour.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut tx = pool.begin().await.unwrap();
    enqueue_raw_on(&mut tx, "pubsub", "alice", 1).await;
    common::outbox::commit(tx).await.unwrap();
    wait_until(Duration::from_secs(5), || sidecar.published().len() == 1).await;
    shutdown.cancel();
    running.await.unwrap();
    sidecar.shutdown().await;
}

/// A sidecar that publishes to its in-memory broker, for relays driven by the test (its app
/// port is never called: nothing has to listen there for publishing): its port and itself.
async fn publishing_sidecar() -> (u16, dev_sidecar::DevSidecar) {
    let reserved = reserve_port();
    let port = reserved.port;
    (
        port,
        start_sidecar("backend-api", free_port(), reserved).await,
    )
}

/// A fresh database, a sidecar that publishes (and its port), and a relay over them.
async fn relay_on_fresh_database(
    settings: RelaySettings,
) -> (sqlx::PgPool, u16, dev_sidecar::DevSidecar, OutboxRelay) {
    let (pool, _url) = fresh_database().await;
    let (sidecar_port, sidecar) = publishing_sidecar().await;
    let relay = relay_over(&pool, sidecar_port, settings);
    (pool, sidecar_port, sidecar, relay)
}

/// A relay over `pool`'s database publishing through the sidecar on `sidecar_port`.
fn relay_over(pool: &sqlx::PgPool, sidecar_port: u16, settings: RelaySettings) -> OutboxRelay {
    OutboxRelay::new(pool.clone(), DaprClient::new(sidecar_port, None), settings)
}

async fn enqueue_raw(pool: &sqlx::PgPool, pubsub: &str, user: &str, n: i64) {
    enqueue_raw_on(&mut pool.acquire().await.unwrap(), pubsub, user, n).await;
}

/// [`enqueue_raw`] on `conn` (a transaction's, for a row that commits with it).
async fn enqueue_raw_on(conn: &mut sqlx::PgConnection, pubsub: &str, user: &str, n: i64) {
    let id = Uuid::now_v7();
    let envelope = json!({"specversion": "1.0", "id": id.to_string(), "source": "test", "type": "t", "data": {"n": n}});
    common::outbox::enqueue_envelope(conn, id, pubsub, "task-created", user, &envelope)
        .await
        .unwrap();
}

/// The `n`s of `user`'s events the sidecar took, in the order it took them.
fn published_numbers(sidecar: &dev_sidecar::DevSidecar, user: &str) -> Vec<i64> {
    sidecar
        .published()
        .iter()
        .filter(|m| m.partition_key.as_deref() == Some(user))
        .map(|m| m.envelope["data"]["n"].as_i64().unwrap())
        .collect()
}

/// Runs `count` relays over `pool` at once until none of them finds work three passes in a row.
/// Every pass must succeed: an error between two relays' claims (a deadlock) fails the test.
async fn race_relays(
    pool: &sqlx::PgPool,
    sidecar_port: u16,
    settings: &RelaySettings,
    count: usize,
) {
    let relays: Vec<OutboxRelay> = (0..count)
        .map(|_| relay_over(pool, sidecar_port, settings.clone()))
        .collect();
    join_all(relays.iter().map(|relay| async move {
        let mut idle = 0;
        while idle < 3 {
            let outcome = relay.publish_batch().await.expect("a relay pass failed");
            idle = if outcome.claimed == 0 { idle + 1 } else { 0 };
            if outcome.claimed == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }))
    .await;
}

/// Each of `user-0 .. user-{users}` had its events published in the order they were written.
fn assert_each_users_order(published: &[dev_sidecar::PublishedMessage], users: usize) {
    for user in 0..users {
        let key = format!("user-{user}");
        let order: Vec<i64> = published
            .iter()
            .filter(|m| m.partition_key.as_deref() == Some(&key))
            .map(|m| m.envelope["data"]["n"].as_i64().unwrap())
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "{key}'s events were reordered across relays");
    }
}

#[tokio::test]
async fn a_row_the_sidecar_refuses_holds_back_only_its_user_until_it_is_parked_and_order_is_kept() {
    let (pool, _, sidecar, relay) = relay_on_fresh_database(RelaySettings {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        park_after: 3,
        ..RelaySettings::default()
    })
    .await;
    // alice's first event names a component that does not exist (404, refused for good).
    enqueue_raw(&pool, "no-such-pubsub", "alice", 0).await;
    for n in 1..=20 {
        enqueue_raw(&pool, "pubsub", "alice", n).await;
        enqueue_raw(&pool, "pubsub", "bob", n).await;
    }
    let of = |user: &str| published_numbers(&sidecar, user);
    // First pass: bob's events all go; none of alice's overtakes her refused first one.
    let first = relay.publish_batch().await.unwrap();
    assert_eq!(first.parked, 0);
    assert_eq!(of("bob"), (1..=20).collect::<Vec<_>>());
    assert!(
        of("alice").is_empty(),
        "alice's later events waited: {:?}",
        of("alice")
    );
    // It is retried on its own backoff, then parked; then alice's events flow, in order.
    let started = Instant::now();
    while of("alice").len() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "alice is still stalled"
        );
        relay.publish_batch().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(of("alice"), (1..=20).collect::<Vec<_>>());
    let parked = common::outbox::parked_rows(&pool).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].partition_key, "alice");
    assert_eq!(parked[0].attempts, 3);
    assert!(
        parked[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("ERR_PUBSUB_NOT_FOUND")),
        "{:?}",
        parked[0].last_error
    );
    // The operator replays it (still refused: parked again after its attempts) or discards it.
    assert_eq!(
        common::outbox::replay_parked(&pool, Some(parked[0].id))
            .await
            .unwrap(),
        1
    );
    assert!(common::outbox::parked_rows(&pool).await.unwrap().is_empty());
    let started = Instant::now();
    while common::outbox::parked_rows(&pool).await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not parked again"
        );
        relay.publish_batch().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        common::outbox::discard_parked(&pool, None).await.unwrap(),
        1
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(sidecar.published().len(), 40, "nothing was published twice");
    sidecar.shutdown().await;
}

/// A sidecar port that accepts connections and never answers: a publish there hangs.
async fn hanging_sidecar() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    (port, hold)
}

#[tokio::test]
async fn no_transaction_stays_open_while_the_relay_publishes_and_its_lock_keeps_other_relays_off() {
    let (pool, _url) = fresh_database().await;
    let (port, _hold) = hanging_sidecar().await;
    enqueue_raw(&pool, "pubsub", "alice", 1).await;
    let relay = relay_over(&pool, port, RelaySettings::default());
    let publishing = tokio::spawn(async move { relay.publish_batch().await });
    let open_transactions = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND state IN ('idle in transaction', 'active') AND xact_start IS NOT NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    wait_for_user_locks(&pool, 1).await;
    assert_eq!(
        open_transactions().await,
        0,
        "a transaction is held across the publish"
    );
    // The first relay's lock on alice keeps a second relay off her row meanwhile.
    let (second_port, sidecar) = publishing_sidecar().await;
    let second = relay_over(&pool, second_port, RelaySettings::default());
    assert_eq!(second.publish_batch().await.unwrap().claimed, 0);
    assert!(sidecar.published().is_empty());
    publishing.abort();
    sidecar.shutdown().await;
}

/// A relay that dies mid-pass (its process, or its connection) frees its users at once: their
/// locks lived in its database session, so another relay publishes the rows right away, with
/// no lease to wait out.
#[tokio::test]
async fn a_relay_whose_session_dies_mid_pass_frees_its_users_at_once() {
    let (pool, _url) = fresh_database().await;
    let (port, _hold) = hanging_sidecar().await;
    enqueue_raw(&pool, "pubsub", "alice", 1).await;
    let stuck = relay_over(&pool, port, RelaySettings::default());
    let publishing = tokio::spawn(async move { stuck.publish_batch().await });
    wait_for_user_locks(&pool, 1).await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks \
         WHERE locktype = 'advisory' AND database = \
           (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .execute(&pool)
    .await
    .unwrap();
    wait_for_user_locks(&pool, 0).await;
    let (sidecar_port, sidecar) = publishing_sidecar().await;
    let relay = relay_over(&pool, sidecar_port, RelaySettings::default());
    let outcome = relay.publish_batch().await.unwrap();
    assert_eq!((outcome.claimed, outcome.published), (1, 1));
    assert_eq!(sidecar.published().len(), 1);
    publishing.abort();
    sidecar.shutdown().await;
}

/// A relay pass that ends, however it ends, leaves no lock behind.
#[tokio::test]
async fn a_pass_releases_its_user_locks_whether_it_published_or_failed() {
    let (pool, _, sidecar, relay) = relay_on_fresh_database(RelaySettings::default()).await;
    enqueue_raw(&pool, "pubsub", "alice", 1).await;
    enqueue_raw(&pool, "no-such-pubsub", "bob", 1).await;
    let outcome = relay.publish_batch().await.unwrap();
    assert_eq!((outcome.claimed, outcome.published), (2, 1));
    wait_for_user_locks(&pool, 0).await;
    // The published row is gone; the refused one waits for its retry, with its reason.
    let left: Vec<(String, i32)> =
        sqlx::query_as("SELECT partition_key, attempts FROM outbox ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(left, vec![("bob".to_owned(), 1)]);
    sidecar.shutdown().await;
}

/// Waits until exactly `count` relay user locks are held in the test's database.
async fn wait_for_user_locks(pool: &sqlx::PgPool, count: i64) {
    let started = Instant::now();
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if held == count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{held} user locks held, waiting for {count}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Each of the relay's statements is prepared once per session, and Postgres keeps a generic
/// plan after five executions, made for the outbox as it was then. On the relay's session the
/// plans read the outbox by index even when made for an outbox of a few rows. Without that, the
/// delete of what a round published was a sequential scan. The scan read every dead row of the
/// queue's heap until a vacuum: half as much database time as all the creates under load
/// (docs/benchmarks.md, "seventh pass").
#[tokio::test]
async fn the_relays_statements_read_the_outbox_by_index_even_when_planned_for_a_few_rows() {
    use sqlx::Connection;
    let (pool, _) = fresh_database().await;
    for n in 0..3 {
        enqueue_raw(&pool, "pubsub", "planned", n).await;
    }
    let mut session = sqlx::PgConnection::connect_with(&OutboxRelay::session_options(&pool))
        .await
        .unwrap();
    // What the plan cache settles on after five executions, at once.
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut session)
        .await
        .unwrap();
    // Each statement's parameters, as the relay binds them (EXPLAIN runs nothing).
    let arguments = [
        "(200, 1, '{}', '{1,2}')",
        "(200, 1, '{}', '{1,2}')",
        "('{planned}', 50, 1000)",
        "('{1,2}')",
        "(1, 1, 'refused', 0.1, false)",
    ];
    for (n, (statement, arguments)) in common::outbox::PASS_STATEMENTS
        .iter()
        .zip(arguments)
        .enumerate()
    {
        let plan =
            testkit::prepared_plan(&mut session, &format!("relay_{n}"), statement, arguments).await;
        assert!(plan.contains("outbox"), "{statement}\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{statement}\n{plan}");
    }
}

#[tokio::test]
async fn three_relays_racing_over_many_users_never_deadlock_and_keep_each_users_order() {
    let (pool, _url) = fresh_database().await;
    let (sidecar_port, sidecar) = publishing_sidecar().await;
    for n in 0..1200 {
        enqueue_raw(&pool, "pubsub", &format!("user-{}", n % 40), n).await;
    }
    let settings = RelaySettings {
        batch_size: 8,
        run_length: 3,
        ..RelaySettings::default()
    };
    race_relays(&pool, sidecar_port, &settings, 3).await;
    let published = sidecar.published();
    assert_eq!(published.len(), 1200, "each row once");
    assert_each_users_order(&published, 40);
    sidecar.shutdown().await;
}

/// Behind a backlog, the statement a relay runs every round finds the users to lock by one index
/// entry per user with pending rows, however many rows each has. Reading every pending row, as
/// it does while the relay keeps up, cost the whole backlog every round, so the relay slowed as
/// the backlog grew: a 30 s sidecar outage under writes was not out of the outbox ten minutes
/// later (docs/benchmarks.md, "thirteenth pass"). Both statements take exactly the users they
/// should: the oldest heads first, a parked row's user by their next row, not a user whose head
/// waits for its retry, nor one the pass already holds.
#[tokio::test]
async fn behind_a_backlog_the_users_to_lock_are_found_by_one_index_entry_each() {
    use common::outbox::{LOCK_USERS_SKIPPING_SQL, LOCK_USERS_SQL};
    use sqlx::Connection;
    let (pool, _) = fresh_database().await;
    // 300 rows each of five users, one of each user in turn: heads b, a, c, d, e.
    sqlx::raw_sql(
        "INSERT INTO outbox (event_id, pubsub, topic, partition_key, envelope)
         SELECT gen_random_uuid(), 'pubsub', 'task-created', u, '{}'
         FROM generate_series(1, 300) AS n,
              unnest(ARRAY['b', 'a', 'c', 'd', 'e']) WITH ORDINALITY AS users(u, k)
         ORDER BY n, k;
         UPDATE outbox SET next_attempt_at = now() + interval '1 hour'
         WHERE id = (SELECT min(id) FROM outbox WHERE partition_key = 'd');
         UPDATE outbox SET parked_at = now()
         WHERE id = (SELECT min(id) FROM outbox WHERE partition_key = 'e');
         ANALYZE outbox;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut session = sqlx::PgConnection::connect_with(&OutboxRelay::session_options(&pool))
        .await
        .unwrap();
    let unlock = "SELECT pg_advisory_unlock_all()";
    for statement in [LOCK_USERS_SQL, LOCK_USERS_SKIPPING_SQL] {
        for (limit, holding, expected) in [
            (10_i64, vec!["c"], vec!["b", "a", "e"]),
            (2, vec![], vec!["b", "a"]),
        ] {
            let locked: Vec<String> = sqlx::query_scalar(statement)
                .bind(limit)
                .bind(42_i32)
                .bind(&holding)
                .bind(Vec::<i64>::new())
                .fetch_all(&mut session)
                .await
                .unwrap();
            assert_eq!(locked, expected, "{statement}");
            sqlx::raw_sql(unlock).execute(&mut session).await.unwrap();
        }
    }

    // The pending-rows index entries each statement reads, as the relay runs it (prepared,
    // its plan generic).
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut session)
        .await
        .unwrap();
    fn entries_read(node: &serde_json::Value) -> f64 {
        let own = if node["Index Name"] == "outbox_pending_idx" {
            node["Actual Rows"].as_f64().unwrap() * node["Actual Loops"].as_f64().unwrap()
        } else {
            0.0
        };
        let below = node["Plans"]
            .as_array()
            .map_or(0.0, |plans| plans.iter().map(entries_read).sum::<f64>());
        own + below
    }
    let mut read = Vec::new();
    for (n, statement) in [LOCK_USERS_SQL, LOCK_USERS_SKIPPING_SQL].iter().enumerate() {
        sqlx::raw_sql(&format!("PREPARE lock_users_{n} AS {statement}"))
            .execute(&mut session)
            .await
            .unwrap();
        let plan: serde_json::Value = sqlx::query_scalar(&format!(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE lock_users_{n}(10, 42, '{{c}}', '{{}}')"
        ))
        .fetch_one(&mut session)
        .await
        .unwrap();
        sqlx::raw_sql(unlock).execute(&mut session).await.unwrap();
        read.push(entries_read(&plan[0]["Plan"]));
    }
    // 1 499 rows pending, of five users.
    assert!(read[0] > 1000.0, "{read:?}");
    assert!(read[1] > 0.0 && read[1] <= 10.0, "{read:?}");
}

/// A relay finds its users by reading every pending row while they have a few rows each, and
/// switches to skipping through the index once a pass finds a user with as many rows waiting as
/// a pass publishes, or more rows than a pass reads; back again once the backlog is gone. Every
/// row goes out in order either way.
#[tokio::test]
async fn a_relay_switches_to_skipping_while_behind_a_backlog_and_back_when_it_is_gone() {
    let (pool, sidecar_port, sidecar, relay) = relay_on_fresh_database(RelaySettings {
        run_length: 5,
        ..RelaySettings::default()
    })
    .await;
    for n in 1..=2 {
        enqueue_raw(&pool, "pubsub", "erin", n).await;
    }
    relay.publish_batch().await.unwrap();
    assert!(!relay.behind(), "2 rows waiting");
    for n in 3..=14 {
        enqueue_raw(&pool, "pubsub", "erin", n).await;
    }
    relay.publish_batch().await.unwrap();
    assert!(relay.behind(), "12 rows waiting, a pass publishes 5");
    relay.publish_batch().await.unwrap();
    assert!(relay.behind(), "7 rows waiting");
    relay.publish_batch().await.unwrap();
    assert!(!relay.behind(), "2 rows waiting");
    assert_eq!(
        published_numbers(&sidecar, "erin"),
        (1..=14).collect::<Vec<_>>()
    );

    // A backlog spread over many users, none with a full run: the first read is cut at the
    // pass's budget.
    let wide = relay_over(
        &pool,
        sidecar_port,
        RelaySettings {
            max_rows: 6,
            ..RelaySettings::default()
        },
    );
    for user in ["fay", "gus", "hal"] {
        for n in 1..=4 {
            enqueue_raw(&pool, "pubsub", user, n).await;
        }
    }
    wide.publish_batch().await.unwrap();
    assert!(wide.behind(), "12 rows of 3 users, a pass reads 6");
    while wide.publish_batch().await.unwrap().published > 0 {}
    for user in ["fay", "gus", "hal"] {
        assert_eq!(published_numbers(&sidecar, user), [1, 2, 3, 4], "{user}");
    }
    sidecar.shutdown().await;
}

/// A pass holds at most `max_rows` rows read and not yet published (a backlog must not be read
/// into memory at once): the oldest user's run first, then a prefix of the next one, whose
/// further rows are read once those went out; every user's events still go out in order.
#[tokio::test]
async fn a_pass_holds_at_most_max_rows_and_cuts_runs_only_to_prefixes() {
    let (pool, _, sidecar, relay) = relay_on_fresh_database(RelaySettings {
        max_rows: 13,
        ..RelaySettings::default()
    })
    .await;
    for n in 1..=10 {
        enqueue_raw(&pool, "pubsub", "carol", n).await;
    }
    for n in 1..=10 {
        enqueue_raw(&pool, "pubsub", "dave", n).await;
    }
    let of = |user: &str| published_numbers(&sidecar, user);
    let outcome = relay.publish_batch().await.unwrap();
    assert_eq!(
        (outcome.claimed, outcome.published, outcome.most_held),
        (20, 20, 13)
    );
    assert_eq!(of("carol"), (1..=10).collect::<Vec<_>>());
    assert_eq!(of("dave"), (1..=10).collect::<Vec<_>>());
    sidecar.shutdown().await;
}

/// A sidecar that takes every publish (204) and records the `data.n` of the events of each
/// request, holding back its answer to the first request until the test opens the gate.
struct GatedSidecar {
    port: u16,
    requests: Arc<Mutex<Vec<Vec<i64>>>>,
    first: Arc<Notify>,
    gate: Arc<Notify>,
    _server: tokio::task::JoinHandle<()>,
}

async fn gated_sidecar() -> GatedSidecar {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests: Arc<Mutex<Vec<Vec<i64>>>> = Arc::default();
    let (first, gate) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let take = {
        let (requests, first, gate) = (requests.clone(), first.clone(), gate.clone());
        move |body: axum::body::Bytes| async move {
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            // A bulk publish is an array of entries, each with its event; a publish, the event.
            let events = match body.as_array() {
                Some(entries) => entries.iter().map(|e| e["event"].clone()).collect(),
                None => vec![body],
            };
            let count = {
                let mut requests = requests.lock().unwrap();
                requests.push(
                    events
                        .iter()
                        .map(|e| e["data"]["n"].as_i64().unwrap())
                        .collect(),
                );
                requests.len()
            };
            if count == 1 {
                first.notify_one();
                gate.notified().await;
            }
            axum::http::StatusCode::NO_CONTENT
        }
    };
    let app = axum::Router::new().fallback(axum::routing::post(take));
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    GatedSidecar {
        port,
        requests,
        first,
        gate,
        _server: server,
    }
}

/// An event committed while a pass publishes goes out in that pass's next round, whether its
/// user is one the pass holds or a new one: it does not wait for the pass to end and the next
/// one to read it.
#[tokio::test]
async fn rows_committed_during_a_pass_go_out_in_its_next_round() {
    let (pool, _url) = fresh_database().await;
    let sidecar = gated_sidecar().await;
    enqueue_raw(&pool, "pubsub", "alice", 1).await;
    let relay = relay_over(&pool, sidecar.port, RelaySettings::default());
    let pass = tokio::spawn(async move { relay.publish_batch().await });
    // The first round is out and not answered yet: alice's second event and bob's first commit.
    sidecar.first.notified().await;
    enqueue_raw(&pool, "pubsub", "alice", 2).await;
    enqueue_raw(&pool, "pubsub", "bob", 101).await;
    sidecar.gate.notify_one();
    let outcome = pass.await.unwrap().unwrap();
    assert_eq!((outcome.claimed, outcome.published), (3, 3), "{outcome:?}");
    let mut requests = sidecar.requests.lock().unwrap().clone();
    requests.iter_mut().for_each(|r| r.sort_unstable());
    assert_eq!(requests, vec![vec![1], vec![2, 101]]);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    wait_for_user_locks(&pool, 0).await;
}

/// Row ids are taken at insert and rows become visible at commit, so a user's row can commit
/// after a later row of theirs was read. The pass reads it in a later round all the same (a read
/// of a user's rows takes every pending one, not those after the last id read), and it does
/// not wait for another pass.
#[tokio::test]
async fn a_row_committed_after_a_later_row_of_its_user_was_read_still_goes_out_in_that_pass() {
    let (pool, _url) = fresh_database().await;
    let sidecar = gated_sidecar().await;
    enqueue_raw(&pool, "pubsub", "alice", 1).await;
    // Row 2 takes its id now and commits only once the pass has read rows 1 and 3.
    let mut late = pool.begin().await.unwrap();
    enqueue_raw_on(&mut late, "pubsub", "alice", 2).await;
    enqueue_raw(&pool, "pubsub", "alice", 3).await;
    let relay = relay_over(&pool, sidecar.port, RelaySettings::default());
    let pass = tokio::spawn(async move { relay.publish_batch().await });
    sidecar.first.notified().await;
    late.commit().await.unwrap();
    sidecar.gate.notify_one();
    let outcome = pass.await.unwrap().unwrap();
    assert_eq!((outcome.claimed, outcome.published), (3, 3), "{outcome:?}");
    let requests = sidecar.requests.lock().unwrap().clone();
    assert_eq!(requests, vec![vec![1], vec![3], vec![2]]);
    wait_for_user_locks(&pool, 0).await;
}

/// The relay sends one row per user in a bulk request; a request the sidecar refuses as a whole
/// (here alice's envelope, which is not a CloudEvent object: 500 ERR_PUBSUB_CLOUD_EVENTS_SER for
/// every entry) is sent again row by row, so bob's events still go, in order, and only alice
/// waits.
#[tokio::test]
async fn a_bulk_request_refused_as_a_whole_is_sent_again_row_by_row_so_only_the_bad_row_waits() {
    let (pool, _, sidecar, relay) = relay_on_fresh_database(RelaySettings::default()).await;
    let poison = Uuid::now_v7();
    let mut conn = pool.acquire().await.unwrap();
    common::outbox::enqueue_envelope(
        &mut conn,
        poison,
        "pubsub",
        "task-created",
        "alice",
        &json!("not an object"),
    )
    .await
    .unwrap();
    drop(conn);
    for n in 1..=5 {
        enqueue_raw(&pool, "pubsub", "alice", n).await;
        enqueue_raw(&pool, "pubsub", "bob", n).await;
        enqueue_raw(&pool, "pubsub", "carol", n).await;
    }
    let outcome = relay.publish_batch().await.unwrap();
    assert_eq!(outcome.published, 10, "{outcome:?}");
    let of = |user: &str| published_numbers(&sidecar, user);
    assert_eq!(of("bob"), (1..=5).collect::<Vec<_>>());
    assert_eq!(of("carol"), (1..=5).collect::<Vec<_>>());
    assert!(of("alice").is_empty());
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM outbox WHERE event_id = $1")
            .bind(poison)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.is_some_and(|e| e.contains("ERR_PUBSUB_CLOUD_EVENTS_SER")));
    sidecar.shutdown().await;
}
