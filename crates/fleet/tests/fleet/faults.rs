//! The fault-injection suite (reliability issue; figures in docs/reliability.md). Each test
//! runs the whole fleet on the Resiliency it ships with (`dapr/components/resiliency.yaml`),
//! puts a steady load of creates, updates and completions from several users on it (some
//! tasks recurring, some with a reminder a few seconds ahead), each user watching one socket,
//! injects one fault while the load runs, lets the fleet settle and then checks the guarantees:
//!
//! * every committed change (a 2xx write) has exactly one audit entry, and every event in the
//!   outbox was recorded (the test copies each as it is written): nothing lost, nothing twice;
//! * every socket received every event of its user exactly once, in the user's order;
//! * a completed recurring task has at most one next occurrence, and has it;
//! * no reminder fired twice;
//! * audit entries keep each user's order;
//! * the API answered only 2xx, or 503 while the database was away: no 500, no hang, and it
//!   came back by itself.
//!
//! Outage lengths are the issue's (sidecar 30 s, consumer database 2 min) unless
//! `FAULT_SIDECAR_OUTAGE_SECS` / `FAULT_DB_OUTAGE_SECS` say otherwise.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::CancellationToken;
use fleet::Fleet;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use testkit::fault_proxy::FaultProxy;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{eventually, fleet_config, request, token};

const USERS: usize = 4;
/// A pause between one user's rounds (create, update, complete): about 40 writes/s in all,
/// steady but light enough for a 2-core machine running other tests.
const ROUND_PAUSE: Duration = Duration::from_millis(250);
/// A request that takes longer than this counts as a hang.
const HANG: Duration = Duration::from_secs(20);

fn outage(var: &str, default_secs: u64) -> Duration {
    Duration::from_secs(
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_secs),
    )
}

/// The relays delete what they publish, so the test keeps its own copy of every event written
/// from now on (`written_events`, filled by a trigger on the outbox in the test's database):
/// the ground truth the checks compare the audit trail and the sockets with (the warm-up before
/// is left out).
async fn record_written_events(pool: &sqlx::PgPool) {
    for statement in [
        "CREATE TABLE written_events AS \
         SELECT id, event_id, partition_key, topic, envelope FROM outbox WITH NO DATA",
        "CREATE FUNCTION record_written_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO written_events VALUES (NEW.id, NEW.event_id, NEW.partition_key, NEW.topic, \
         NEW.envelope); RETURN NULL; END $$",
        "CREATE TRIGGER record_written_event AFTER INSERT ON outbox \
         FOR EACH ROW EXECUTE FUNCTION record_written_event()",
    ] {
        sqlx::query(statement).execute(pool).await.unwrap();
    }
}

/// What the load saw: each committed write's task id and resulting version, and every status.
#[derive(Default)]
struct Seen {
    committed: Vec<(String, i64)>,
    statuses: BTreeMap<u16, usize>,
    hangs: usize,
    /// Statuses of the last few writes of each user (recovery: they must be 2xx).
    last: HashMap<String, Vec<u16>>,
}

struct Workload {
    stop: CancellationToken,
    writers: Vec<JoinHandle<()>>,
    seen: Arc<Mutex<Seen>>,
    /// Per user: what their socket received so far, and the task receiving it.
    sockets: Vec<(String, Received, JoinHandle<()>)>,
}

impl Workload {
    /// Connects one socket per user, waits until each gets its own warm-up push (the
    /// subscriptions are live), then starts the writers.
    async fn start(fleet: &Fleet, name: &str) -> Self {
        let users: Vec<String> = (0..USERS).map(|i| format!("{name}-user-{i}")).collect();
        let ws = fleet.app_port("websocket").unwrap();
        let mut sockets = Vec::new();
        for user in &users {
            let (mut socket, _) = tokio_tungstenite::connect_async(format!(
                "ws://127.0.0.1:{ws}/ws?token={}",
                token(user)
            ))
            .await
            .unwrap();
            let warm_up = create(fleet, user, json!({"title": "warm-up"})).await;
            loop {
                let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
                    .await
                    .expect("no warm-up push")
                    .expect("socket closed")
                    .unwrap();
                if let Message::Text(text) = message {
                    let push: Value = serde_json::from_str(&text).unwrap();
                    if push["task_id"] == warm_up["id"] {
                        break;
                    }
                }
            }
            let received = Received::default();
            let collector = tokio::spawn(collect(socket, received.clone()));
            sockets.push((user.clone(), received, collector));
        }
        record_written_events(fleet.pool()).await;
        let stop = CancellationToken::new();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let api = fleet.app_port("backend-api").unwrap();
        let writers = users
            .iter()
            .map(|user| tokio::spawn(write_loop(api, user.clone(), stop.clone(), seen.clone())))
            .collect();
        Self {
            stop,
            writers,
            seen,
            sockets,
        }
    }

    /// Lets the load run for `period`.
    async fn run_for(&self, period: Duration) {
        tokio::time::sleep(period).await;
    }

    /// Stops the writers (after `recovery` more of steady load, so the last writes show the
    /// API recovered), waits until every event has reached every consumer, then checks.
    async fn finish(self, fleet: &Fleet, fault: &str, recovery: Duration) -> Figures {
        tokio::time::sleep(recovery).await;
        self.stop.cancel();
        for writer in self.writers {
            writer.await.unwrap();
        }
        let pool = fleet.pool();
        // Settled: everything published, recorded, retried, pushed, and every completed
        // recurring task given its next occurrence.
        eventually(Duration::from_secs(180), "the fleet to settle", || async {
            let (pending, unrecorded, waiting, unlinked): (i64, i64, i64, i64) = sqlx::query_as(
                "SELECT \
                 (SELECT count(*) FROM outbox WHERE parked_at IS NULL), \
                 (SELECT count(*) FROM written_events o WHERE o.topic <> 'reminder-due' \
                   AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)), \
                 (SELECT count(*) FROM dead_letters WHERE parked_at IS NULL), \
                 (SELECT count(*) FROM tasks t WHERE t.recurring_rule IS NOT NULL \
                   AND t.status = 'completed' \
                   AND NOT EXISTS (SELECT 1 FROM recurrence_links l WHERE l.completed_task_id = t.id))",
            )
            .fetch_one(pool)
            .await
            .ok()?;
            (pending == 0 && unrecorded == 0 && waiting == 0 && unlinked == 0).then_some(())
        })
        .await;
        let events: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, event_id::text, partition_key, topic, envelope->'data'->>'actor' \
             FROM written_events ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        // A user's order is the order of their own writes: each starts after the previous one
        // answered, so their commits (and outbox ids) are ordered. Events that recurring and
        // notification write meanwhile are concurrent with them and have no order to keep.
        // The broker orders per topic (the user is the partition key of each topic), so that
        // order holds per topic: across topics consumers see arrival order (docs/reliability.md).
        let mut expected: HashMap<String, Expected> = HashMap::new();
        for (_, event_id, user, topic, actor) in &events {
            let (all, own) = expected.entry(user.clone()).or_default();
            all.push(event_id.clone());
            if actor.as_deref() == Some("user") {
                own.entry(topic.clone()).or_default().push(event_id.clone());
            }
        }
        // Every socket gets every event of its user (reminders included), once, in order.
        let mut pushes = 0usize;
        let mut duplicated = 0usize;
        for (user, received, collector) in self.sockets {
            let (want, own) = expected.remove(&user).unwrap_or_default();
            let ids = eventually(Duration::from_secs(60), "every push", || async {
                let ids = received.event_ids();
                let have: HashSet<&String> = ids.iter().collect();
                want.iter().all(|id| have.contains(id)).then_some(ids)
            })
            .await;
            collector.abort();
            let unique: HashSet<&String> = ids.iter().collect();
            duplicated += ids.len() - unique.len();
            assert_eq!(unique.len(), ids.len(), "{fault}: {user} got a push twice");
            for (topic, own) in &own {
                let own_received: Vec<&String> = ids.iter().filter(|id| own.contains(id)).collect();
                assert_eq!(
                    own_received,
                    own.iter().collect::<Vec<_>>(),
                    "{fault}: {user}'s pushes of {topic} out of order"
                );
            }
            pushes += ids.iter().filter(|id| want.contains(id)).count();
        }
        // Audit: one entry per event, in each user's order, and one per committed change.
        let out_of_order: Vec<(i64, i64, i64, String, String)> = sqlx::query_as(
            "SELECT aid, oid, prev, topic, user_id FROM (SELECT a.id AS aid, o.id AS oid, o.topic, a.user_id, \
                lag(o.id) OVER (PARTITION BY a.user_id, o.topic ORDER BY a.id) AS prev \
              FROM audit_log a JOIN written_events o USING (event_id) \
              WHERE a.actor = 'user') x \
             WHERE prev > oid",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(
            out_of_order.is_empty(),
            "{fault}: audit entries out of a user's order (aid, oid, prev, topic, user): {out_of_order:?}"
        );
        let entries: HashSet<(String, i64)> = sqlx::query_as::<_, (String, i64)>(
            "SELECT task_id::text, (snapshot->>'version')::bigint FROM audit_log \
             WHERE task_id IS NOT NULL AND snapshot ? 'version'",
        )
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
        let seen = Arc::try_unwrap(self.seen)
            .unwrap_or_else(|_| panic!("writers still hold the log"))
            .into_inner()
            .unwrap();
        let unaudited: Vec<&(String, i64)> = seen
            .committed
            .iter()
            .filter(|change| !entries.contains(change))
            .collect();
        let lost = unaudited.len();
        assert!(
            unaudited.is_empty(),
            "{fault}: committed changes without an audit entry: {unaudited:?}"
        );
        // Recurring: every completed recurring occurrence has exactly one next occurrence.
        let (completed_recurring, linked, occurrences): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
              (SELECT count(*) FROM tasks WHERE recurring_rule IS NOT NULL AND status = 'completed'), \
              (SELECT count(*) FROM recurrence_links), \
              (SELECT count(*) FROM tasks WHERE parent_task_id IS NOT NULL)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(
            linked, completed_recurring,
            "{fault}: a completed recurring task without its next occurrence"
        );
        assert_eq!(
            occurrences, linked,
            "{fault}: a next occurrence without its link (created twice)"
        );
        // Reminders: none fired twice (a second firing is a second reminder-due event with a
        // new id for the same task and time; the pushes above caught any repeat of one event).
        let twice: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT 1 FROM written_events \
             WHERE topic = 'reminder-due' \
             GROUP BY envelope->'data'->'data'->>'task_id', envelope->'data'->'data'->>'reminder_at' \
             HAVING count(*) > 1) x",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(twice, 0, "{fault}: a reminder fired twice");
        // The API: 2xx, or 503 while the database was away; never a 500 or a hang; recovered.
        assert_eq!(seen.hangs, 0, "{fault}: requests hung");
        let unexpected: Vec<(&u16, &usize)> = seen
            .statuses
            .iter()
            // 503 is the API's answer whenever it cannot reach its database in time (5 s pool
            // wait): expected in (b), possible under overload anywhere, never a lost write.
            .filter(|(status, _)| !(200..300).contains(*status) && **status != 503)
            .collect();
        assert!(
            unexpected.is_empty(),
            "{fault}: statuses {:?}",
            seen.statuses
        );
        for (user, last) in &seen.last {
            assert!(
                last.iter().all(|s| (200..300).contains(s)),
                "{fault}: {user}'s last writes {last:?}: the API did not recover"
            );
        }
        let reminders = events.iter().filter(|e| e.3 == "reminder-due").count();
        let audited: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log a JOIN written_events o USING (event_id)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let figures = Figures {
            fault: fault.to_owned(),
            committed: seen.committed.len(),
            events: events.len(),
            reminders,
            audited,
            pushes,
            unavailable: seen.statuses.get(&503).copied().unwrap_or(0),
            recurring: completed_recurring,
            duplicated,
            lost,
        };
        // One line per fault for docs/reliability.md (`--nocapture` shows it).
        println!("{figures}");
        figures
    }
}

/// Per user: every event id, and the ids of their own writes per topic (in commit order).
type Expected = (Vec<String>, BTreeMap<String, Vec<String>>);

/// The event ids a socket received, in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    fn event_ids(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The per-fault figures of docs/reliability.md.
struct Figures {
    fault: String,
    committed: usize,
    events: usize,
    reminders: usize,
    audited: i64,
    pushes: usize,
    unavailable: usize,
    recurring: i64,
    /// Pushes received twice.
    duplicated: usize,
    /// Committed changes without their audit entry.
    lost: usize,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {} | {} | {} ({} reminders) | {} | {} | {} | {} | {} | {} |",
            self.fault,
            self.committed,
            self.events,
            self.reminders,
            self.audited,
            self.pushes,
            self.recurring,
            self.duplicated,
            self.lost,
            self.unavailable
        )
    }
}

async fn collect(mut socket: crate::helpers::Socket, received: Received) {
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Text(text) = message {
            let push: Value = serde_json::from_str(&text).unwrap();
            if let Some(id) = push["event_id"].as_str() {
                received.0.lock().unwrap().push(id.to_owned());
            }
        }
    }
}

async fn create(fleet: &Fleet, user: &str, body: Value) -> Value {
    let response = request(fleet, "backend-api", Method::POST, "/api/tasks", user)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// One user's writes until `stop`: create (every third recurring daily, every fourth with a
/// reminder 3 s ahead), rename, complete; each write's outcome goes to `seen`.
async fn write_loop(api: u16, user: String, stop: CancellationToken, seen: Arc<Mutex<Seen>>) {
    let client = reqwest::Client::builder().timeout(HANG).build().unwrap();
    let bearer = token(&user);
    let base = format!("http://127.0.0.1:{api}/api/tasks");
    let mut round = 0u64;
    while !stop.is_cancelled() {
        round += 1;
        let mut body = json!({"title": format!("{user} task {round}")});
        if round.is_multiple_of(3) {
            body["recurring_rule"] = json!("daily");
            body["due_date"] = json!((chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339());
        }
        if round.is_multiple_of(4) {
            body["reminder_at"] =
                json!((chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339());
        }
        let created = send(&seen, &user, client.post(&base).json(&body), &bearer).await;
        if let Some(task) = created {
            let id = task["id"].as_str().unwrap_or_default().to_owned();
            let rename = client
                .patch(format!("{base}/{id}"))
                .json(&json!({"title": format!("{user} task {round} renamed")}));
            send(&seen, &user, rename, &bearer).await;
            if !round.is_multiple_of(2) || round.is_multiple_of(3) {
                let complete = client.post(format!("{base}/{id}/complete"));
                send(&seen, &user, complete, &bearer).await;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(ROUND_PAUSE) => {}
            () = stop.cancelled() => {}
        }
    }
}

/// Sends one write; records its status (or a hang) and, when it committed, the task's id and
/// new version. Returns the task on success.
async fn send(
    seen: &Mutex<Seen>,
    user: &str,
    request: reqwest::RequestBuilder,
    bearer: &str,
) -> Option<Value> {
    let outcome = request.bearer_auth(bearer).send().await;
    let seen_now = |status: Option<u16>, task: Option<&Value>| {
        let mut seen = seen.lock().unwrap();
        match status {
            Some(status) => {
                *seen.statuses.entry(status).or_default() += 1;
                let last = seen.last.entry(user.to_owned()).or_default();
                last.push(status);
                if last.len() > 3 {
                    last.remove(0);
                }
            }
            None => seen.hangs += 1,
        }
        if let Some(task) = task
            && let (Some(id), Some(version)) = (task["id"].as_str(), task["version"].as_i64())
        {
            seen.committed.push((id.to_owned(), version));
        }
    };
    match outcome {
        Ok(response) => {
            let status = response.status().as_u16();
            let task: Option<Value> = if response.status().is_success() {
                response.json().await.ok()
            } else {
                None
            };
            seen_now(Some(status), task.as_ref());
            task
        }
        Err(error) if error.is_timeout() => {
            seen_now(None, None);
            None
        }
        Err(error) => panic!("request failed: {error}"),
    }
}

/// A fleet on the Resiliency it ships with (no test retry policy).
async fn shipped_fleet(tweak: impl FnOnce(&mut fleet::FleetConfig)) -> Fleet {
    let mut config = fleet_config(&[]);
    config.delivery = None;
    tweak(&mut config);
    Fleet::start(config).await.unwrap()
}

const SIDECARS: [&str; 5] = [
    "backend-api-0",
    "websocket-0",
    "recurring-0",
    "notification-0",
    "audit-0",
];

#[tokio::test]
async fn fault_a_sidecars_stopped_for_30_seconds_lose_and_repeat_nothing() {
    let fleet = shipped_fleet(|_| {}).await;
    let load = Workload::start(&fleet, "sidecar").await;
    load.run_for(Duration::from_secs(3)).await;
    // Every daprd goes away (every service runs a relay over the one outbox, so with one
    // sidecar left the others' events would still go out through it); the broker keeps what
    // it has.
    for instance in SIDECARS {
        fleet.sidecar().stop_sidecar(instance).await.unwrap();
    }
    load.run_for(outage("FAULT_SIDECAR_OUTAGE_SECS", 30)).await;
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(fleet.pool())
        .await
        .unwrap();
    assert!(
        waiting > 0,
        "the outage held no event back: the fault did not bite"
    );
    for instance in SIDECARS {
        fleet.sidecar().start_sidecar(instance).await.unwrap();
    }
    load.finish(&fleet, "(a) every sidecar stopped", Duration::from_secs(3))
        .await;
    fleet.stop().await;
}

#[tokio::test]
async fn fault_b_postgres_restarting_gets_503s_and_the_fleet_recovers_by_itself() {
    let base = testkit::test_database_url();
    let (proxy, through) = FaultProxy::in_front_of(&base).await;
    let fleet = shipped_fleet(|config| config.database_url = through).await;
    let load = Workload::start(&fleet, "postgres").await;
    load.run_for(Duration::from_secs(3)).await;
    proxy.cut();
    load.run_for(Duration::from_secs(10)).await;
    proxy.restore();
    let figures = load
        .finish(
            &fleet,
            "(b) Postgres restarted (10 s away)",
            Duration::from_secs(8),
        )
        .await;
    assert!(
        figures.unavailable > 0,
        "the API never answered 503 while Postgres was away"
    );
    fleet.stop().await;
}

#[tokio::test]
async fn fault_c_each_consumer_killed_and_restarted_loses_and_repeats_nothing() {
    let mut fleet = shipped_fleet(|_| {}).await;
    let load = Workload::start(&fleet, "kill").await;
    for service in ["audit", "recurring", "notification"] {
        load.run_for(Duration::from_secs(2)).await;
        fleet.kill_service(service).await;
        load.run_for(Duration::from_secs(3)).await;
        fleet.start_service(service).await.unwrap();
    }
    load.finish(
        &fleet,
        "(c) audit, recurring, notification killed and restarted",
        Duration::from_secs(3),
    )
    .await;
    fleet.stop().await;
}

#[tokio::test]
async fn fault_d_every_delivery_five_times_at_once_changes_nothing_twice() {
    let fleet = shipped_fleet(|_| {}).await;
    fleet.sidecar().set_duplicate_deliveries(5);
    let load = Workload::start(&fleet, "dupes").await;
    load.run_for(Duration::from_secs(10)).await;
    load.finish(&fleet, "(d) every delivery 5x concurrently", Duration::ZERO)
        .await;
    fleet.stop().await;
}

#[tokio::test]
async fn fault_e_poison_events_among_good_ones_are_parked_and_block_nothing() {
    let fleet = shipped_fleet(|_| {}).await;
    let load = Workload::start(&fleet, "poison").await;
    load.run_for(Duration::from_secs(2)).await;
    let sidecar = fleet
        .ports
        .iter()
        .find(|p| p.name == "backend-api")
        .unwrap()
        .sidecar_port;
    for topic in ["task-created", "task-completed"] {
        let published = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{sidecar}/v1.0/publish/pubsub/{topic}?metadata.partitionKey=poison-user-0"))
            .header("content-type", "application/json")
            .header("dapr-api-token", fleet.dapr_api_token())
            .body(r#"{"poison":true}"#)
            .send()
            .await
            .unwrap();
        assert!(published.status().is_success());
    }
    load.run_for(Duration::from_secs(5)).await;
    load.finish(&fleet, "(e) poison events among good ones", Duration::ZERO)
        .await;
    let parked: Vec<(String, String)> = sqlx::query_as(
        "SELECT consumer, topic FROM dead_letters WHERE parked_at IS NOT NULL ORDER BY 1, 2",
    )
    .fetch_all(fleet.pool())
    .await
    .unwrap();
    let parked: Vec<(&str, &str)> = parked
        .iter()
        .map(|(c, t)| (c.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        parked,
        [
            ("audit", "task-completed"),
            ("audit", "task-created"),
            ("recurring", "task-completed")
        ]
    );
    fleet.stop().await;
}

#[tokio::test]
async fn fault_f_a_consumers_database_away_for_2_minutes_loses_nothing() {
    let base = testkit::test_database_url();
    let (proxy, through) = FaultProxy::in_front_of(&base).await;
    let fleet = shipped_fleet(|config| {
        config.database_url = base.clone();
        for consumer in ["audit", "recurring"] {
            config
                .database_url_of
                .insert(consumer.to_owned(), through.clone());
        }
    })
    .await;
    let load = Workload::start(&fleet, "consumer-db").await;
    load.run_for(Duration::from_secs(3)).await;
    let audited = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_log")
            .fetch_one(fleet.pool())
            .await
            .unwrap()
    };
    proxy.cut();
    // What audit had in flight when the cut came may still land; nothing after it can.
    load.run_for(Duration::from_secs(2)).await;
    let at_cut = audited().await;
    load.run_for(outage("FAULT_DB_OUTAGE_SECS", 120)).await;
    assert_eq!(
        audited().await,
        at_cut,
        "audit recorded events while its database was cut: the fault did not bite"
    );
    proxy.restore();
    load.finish(
        &fleet,
        "(f) audit's and recurring's database away",
        Duration::from_secs(3),
    )
    .await;
    fleet.stop().await;
}
