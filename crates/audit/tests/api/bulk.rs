//! Bulk deliveries (docs/dapr-behaviour.md §2.6): a batch of events recorded in one
//! transaction, each entry answered, chains intact under concurrent batches, and the path
//! through the dev sidecar's Kafka batching.

use std::time::Duration;

use common::delivery::BulkSubscribe;
use common::events::{EventType, TaskEvent};
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestAudit, cloudevent, eventually, spawn_audit, task_event};
use crate::sidecar::{audit_behind_a_sidecar_with, publish};

/// The event ids of `user`'s entries, oldest first.
async fn oldest_first(app: &TestAudit, user: &str) -> Vec<String> {
    app.entries(user, "?limit=100")
        .await
        .iter()
        .rev()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

fn event_ids(events: &[&TaskEvent]) -> Vec<String> {
    events.iter().map(|e| e.event_id.to_string()).collect()
}

/// POSTs `events` as one bulk delivery on `task-created` (entry ids "0".."n-1"); returns each
/// entry's status.
async fn deliver_batch(app: &TestAudit, events: &[Value]) -> Vec<String> {
    let entries: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            json!({"entryId": i.to_string(), "event": event, "metadata": {}, "contentType": "application/cloudevents+json"})
        })
        .collect();
    let body = json!({
        "id": Uuid::new_v4().to_string(), "type": "com.dapr.event.sent.bulk",
        "topic": "task-created", "pubsubname": "pubsub", "metadata": {}, "entries": entries,
    });
    let response = app
        .client
        .post(format!("{}/events/task-created", app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.unwrap();
    let statuses = reply["statuses"].as_array().unwrap();
    assert_eq!(
        statuses.len(),
        events.len(),
        "every entry answered: {reply}"
    );
    statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            assert_eq!(s["entryId"], i.to_string());
            s["status"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn created(user: &str) -> TaskEvent {
    task_event(EventType::TaskCreated, user, Uuid::new_v4(), 1)
}

#[tokio::test]
async fn a_bulk_delivery_records_each_event_once_and_answers_each_entry() {
    let app = spawn_audit().await;
    let before = created("alice");
    assert_eq!(app.deliver(&before).await, "SUCCESS");
    let alice: Vec<TaskEvent> = (0..3).map(|_| created("alice")).collect();
    let bob: Vec<TaskEvent> = (0..2).map(|_| created("bob")).collect();
    let batch = vec![
        cloudevent(&alice[0]),
        cloudevent(&bob[0]),
        json!({"specversion": "1.0", "id": "x", "source": "s", "type": "t", "data": {"hello": 1}}),
        cloudevent(&alice[1]),
        cloudevent(&before),
        cloudevent(&alice[0]),
        cloudevent(&bob[1]),
        cloudevent(&alice[2]),
    ];
    let statuses = deliver_batch(&app, &batch).await;
    assert_eq!(
        statuses,
        [
            "SUCCESS", "SUCCESS", "DROP", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS"
        ]
    );
    assert_eq!(
        app.rows().await,
        6,
        "one entry per event; duplicates and the bad entry add none"
    );
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": true, "entries": 4, "first_broken_event_id": null})
    );
    assert_eq!(app.verify("bob").await["entries"], 2);
    // The chain follows the batch's order.
    assert_eq!(
        oldest_first(&app, "alice").await,
        event_ids(&[&before, &alice[0], &alice[1], &alice[2]])
    );
}

#[tokio::test]
async fn concurrent_bulk_deliveries_over_the_same_users_leave_unforked_chains() {
    let app = spawn_audit().await;
    let users = ["alice", "bob", "carol"];
    // Six batches, each naming the users in a different order.
    let batches: Vec<Vec<Value>> = (0..6)
        .map(|b| {
            (0..10)
                .map(|i| cloudevent(&created(users[(b + i) % users.len()])))
                .collect()
        })
        .collect();
    let replies = join_all(batches.iter().map(|batch| deliver_batch(&app, batch))).await;
    assert!(
        replies.iter().flatten().all(|s| s == "SUCCESS"),
        "{replies:?}"
    );
    assert_eq!(app.rows().await, 60);
    for user in users {
        assert_eq!(app.verify(user).await["intact"], true, "{user}");
    }
}

/// An event already in the log, redelivered inside a batch of new ones: it is a duplicate, the
/// others are linked around it in one go, and the chain stays intact. The log itself is the
/// record of what was processed: audit writes no `processed_events` rows (they were never
/// pruned and doubled `audit_log.event_id`'s unique key).
#[tokio::test]
async fn a_batch_holding_an_event_already_in_the_log_links_the_rest_and_keeps_no_other_record() {
    let app = spawn_audit().await;
    let old = created("alice");
    assert_eq!(app.deliver(&old).await, "SUCCESS");
    let (first, last) = (created("alice"), created("alice"));
    let statuses = deliver_batch(
        &app,
        &[cloudevent(&first), cloudevent(&old), cloudevent(&last)],
    )
    .await;
    assert_eq!(statuses, ["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert_eq!(
        app.verify("alice").await,
        json!({"intact": true, "entries": 3, "first_broken_event_id": null})
    );
    assert_eq!(
        oldest_first(&app, "alice").await,
        event_ids(&[&old, &first, &last])
    );
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(records, 0);
}

const KAFKA: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - {name: brokers, value: "localhost:9092"}
"#;

/// Through the dev sidecar's Kafka with `bulkSubscribe`: events arrive in batches and every
/// one is recorded once, in order.
#[tokio::test]
async fn with_batching_events_published_on_kafka_are_recorded_once_in_order() {
    let batching = BulkSubscribe {
        enabled: true,
        max_messages_count: 8,
        max_await_duration_ms: 20,
    };
    let (app, sidecar, dapr) = audit_behind_a_sidecar_with(
        KAFKA,
        |service| audit::Settings {
            batching: Some(batching),
            ..audit::Settings::new(service)
        },
        None,
    )
    .await;
    let events: Vec<TaskEvent> = (0..20).map(|_| created("alice")).collect();
    for event in &events {
        publish(&dapr, event).await;
    }
    let order = eventually(Duration::from_secs(10), "20 audit entries", || async {
        let order = oldest_first(&app, "alice").await;
        (order.len() == 20).then_some(order)
    })
    .await;
    assert_eq!(order, event_ids(&events.iter().collect::<Vec<_>>()));
    assert_eq!(app.verify("alice").await["intact"], true);
    sidecar.shutdown().await;
}

/// A batch reads its users' chain heads with one statement over an array of users. Postgres's
/// plan cache costed its custom plans for each batch's real size, mostly one or two users, and
/// never took the generic plan (costed for ten): the statement was planned on every batch, 0.17
/// ms of Postgres's time each (docs/benchmarks.md, "eighth pass"). The batch's transaction now
/// runs on generic plans: on one session, after batches small and large, the heads' statement
/// was planned once.
#[tokio::test]
async fn a_batch_reads_its_chain_heads_on_a_generic_plan_whatever_its_size() {
    let (_, url) = crate::helpers::fresh_database().await;
    let pool = common::db::connect(&url, 1).await.unwrap();
    let batch = |users: usize| -> Vec<TaskEvent> {
        (0..users)
            .map(|user| created(&format!("planned-{user}")))
            .collect()
    };
    for users in [1, 1, 2, 1, 1, 1, 2, 1, 20, 20, 20, 20, 20, 20, 20, 20] {
        let outcomes = audit::journal::append_batch(&pool, &batch(users))
            .await
            .unwrap()
            .expect("linked in one go");
        assert_eq!(outcomes.len(), users);
    }
    let plans: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE 'SELECT u, h.hash, %'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(plans, vec![(16, 0)], "(generic, custom) plans of the heads");
}

/// Each write statement is prepared once per connection and runs on a generic plan made for
/// the log as it was then: on a new database, an empty log. On such a plan the look-up of a
/// batch's events already recorded was a sequential scan, which then read the whole log on
/// every batch as it grew (create throughput fell by a quarter in the benchmark,
/// docs/benchmarks.md, "ninth pass"). After the batch's lock statement, every write statement
/// reads the log by index even when planned on an empty log.
#[tokio::test]
async fn a_batchs_statements_read_the_log_by_index_even_when_planned_on_an_empty_log() {
    use sqlx::Connection;
    let (_, url) = crate::helpers::fresh_database().await;
    let mut session = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut session).await.unwrap();
    sqlx::query(audit::journal::LOCK_CHAINS_SQL)
        .bind(vec!["alice"])
        .execute(&mut session)
        .await
        .unwrap();
    // Each statement's parameters, as a batch binds them (EXPLAIN runs nothing).
    let id = "'01a21965-72e6-7296-b25b-4f86bd2e2fd2'::uuid";
    let arguments = [
        format!("('{{alice}}', ARRAY[{id}])"),
        format!(
            "(ARRAY[{id}], '{{alice}}', '{{task-created}}', ARRAY[{id}], '{{user}}', \
             ARRAY[now()], ARRAY[now()], ARRAY[NULL::jsonb], ARRAY['{{}}'::jsonb], \
             ARRAY[NULL::text], '{{hash}}')"
        ),
    ];
    for (n, (statement, arguments)) in audit::journal::WRITE_STATEMENTS
        .iter()
        .zip(arguments)
        .enumerate()
    {
        let plan =
            testkit::prepared_plan(&mut session, &format!("write_{n}"), statement, &arguments)
                .await;
        assert!(plan.contains("audit_log"), "{statement}\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{statement}\n{plan}");
    }
}
