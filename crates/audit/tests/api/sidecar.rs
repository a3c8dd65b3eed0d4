//! Through the dev sidecar: events published to the broker reach audit via its programmatic
//! subscriptions, and a poison event lands on the dead-letter topic.

use std::time::Duration;

use common::dapr::DaprClient;
use common::dead_letters;
use common::events::{CloudEvent, EventType, PUBSUB};
use dev_sidecar::{AppSpec, DeliveryPolicy, DevSidecar, SidecarConfig};
use uuid::Uuid;

use crate::helpers::{TestAudit, eventually, fresh_database, settings, task_event};

async fn audit_behind_a_sidecar() -> (TestAudit, DevSidecar, DaprClient) {
    audit_behind_a_sidecar_with(
        testkit::IN_MEMORY_PUBSUB,
        audit::Settings::new,
        Some(DeliveryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        }),
    )
    .await
}

/// Publishes `event` as backend-api's relay does: its CloudEvent on its topic, keyed by its user.
pub async fn publish(dapr: &DaprClient, event: &common::events::TaskEvent) {
    let envelope = serde_json::to_value(CloudEvent::for_task_event(
        "backend-api",
        event.clone(),
        None,
    ))
    .unwrap();
    dapr.publish_cloudevent(PUBSUB, event.event_type.topic(), &envelope, &event.user_id)
        .await
        .unwrap();
}

/// audit on a fresh database (its settings from `settings`), behind a dev sidecar with the
/// pub/sub `components` and, when given, a fixed delivery policy instead of their Resiliency.
pub async fn audit_behind_a_sidecar_with(
    components: &str,
    settings_of: impl FnOnce(common::config::ServiceSettings) -> audit::Settings,
    delivery: Option<DeliveryPolicy>,
) -> (TestAudit, DevSidecar, DaprClient) {
    let (pool, url) = fresh_database().await;
    let reserved = testkit::reserve_port();
    let sidecar_port = reserved.port;
    let service = audit::build(settings_of(settings(&url, sidecar_port)))
        .await
        .unwrap();
    let app = TestAudit {
        served: testkit::Served::start(service),
        pool,
    };
    let listeners =
        std::collections::HashMap::from([("audit-0".to_owned(), reserved.into_listener())]);
    let resources = testkit::resources(components);
    let sidecar = dev_sidecar::start_with_listeners(
        SidecarConfig {
            resources_dir: resources.path(),
            apps: vec![AppSpec {
                instance: "audit-0".to_owned(),
                sidecar_port,
                ..AppSpec::new("audit", app.port)
            }],
            delivery,
            ..SidecarConfig::default()
        },
        listeners,
    )
    .await
    .unwrap();
    let dapr = DaprClient::new(sidecar_port, None);
    dapr.wait_for_outbound(Duration::from_secs(10))
        .await
        .unwrap();
    (app, sidecar, dapr)
}

#[tokio::test]
async fn events_published_through_the_sidecar_are_recorded_once_in_order() {
    let (app, sidecar, dapr) = audit_behind_a_sidecar().await;
    let task_id = Uuid::new_v4();
    let mut events = [
        task_event(EventType::TaskCreated, "alice", task_id, 1),
        task_event(EventType::TaskUpdated, "alice", task_id, 2),
        task_event(EventType::TaskCompleted, "alice", task_id, 3),
        task_event(EventType::TaskDeleted, "alice", task_id, 4),
    ];
    // Four topics, so they may arrive in any order: the trail lists them by when they happened,
    // a millisecond apart here (made back to back, two could share Postgres's microsecond).
    let first = events[0].timestamp;
    for (n, event) in (0..).zip(events.iter_mut()) {
        event.timestamp = first + chrono::Duration::milliseconds(n);
    }
    for event in &events {
        publish(&dapr, event).await;
    }
    // A republished event (a relay retry) must not add an entry.
    publish(&dapr, &events[0]).await;
    let items = eventually(Duration::from_secs(10), "four audit entries", || async {
        let items = app.entries("alice", "").await;
        (items.len() == 4).then_some(items)
    })
    .await;
    let types: Vec<&str> = items
        .iter()
        .rev()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "task-created",
            "task-updated",
            "task-completed",
            "task-deleted"
        ]
    );
    assert_eq!(app.verify("alice").await["intact"], true);
    sidecar.shutdown().await;
    assert_eq!(app.rows().await, 4);
}

#[tokio::test]
async fn a_poison_event_is_parked_with_its_reason_and_later_events_are_still_recorded() {
    let (app, sidecar, _dapr) = audit_behind_a_sidecar().await;
    let sidecar_url = format!(
        "http://127.0.0.1:{}/v1.0/publish/pubsub/task-created",
        sidecar.sidecar_port("audit").unwrap()
    );
    let client = reqwest::Client::new();
    let response = client
        .post(&sidecar_url)
        .header("content-type", "application/json")
        .body(r#"{"not":"a task event"}"#)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let event = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
    let envelope = serde_json::to_value(CloudEvent::for_task_event(
        "backend-api",
        event.clone(),
        None,
    ))
    .unwrap();
    DaprClient::new(sidecar.sidecar_port("audit").unwrap(), None)
        .publish_cloudevent(PUBSUB, "task-created", &envelope, "alice")
        .await
        .unwrap();
    let dead = eventually(Duration::from_secs(10), "the dead letter", || async {
        sidecar
            .published()
            .into_iter()
            .find(|m| m.topic == "audit-task-created-dlq")
    })
    .await;
    assert_eq!(dead.envelope["data"]["not"], "a task event");
    let (reason, attempts): (String, i32) = eventually(
        Duration::from_secs(10),
        "the parked dead letter",
        || async {
            sqlx::query_as(
                "SELECT reason, attempts FROM dead_letters \
                 WHERE consumer = 'audit' AND topic = 'task-created' AND parked_at IS NOT NULL",
            )
            .fetch_optional(&app.pool)
            .await
            .unwrap()
        },
    )
    .await;
    assert!(reason.starts_with("not a task event"), "{reason}");
    assert_eq!(attempts, 1, "a permanent refusal is not retried");
    // The operator's view and hands (`audit dead-letters list|replay|discard`).
    let listed = dead_letters::list(&app.pool, "audit").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(String::from_utf8_lossy(&listed[0].event).contains("a task event"));
    assert_eq!(
        dead_letters::replay(&app.pool, "audit", None)
            .await
            .unwrap(),
        1
    );
    eventually(
        Duration::from_secs(20),
        "the replayed row parked again",
        || async {
            let row = &dead_letters::list(&app.pool, "audit").await.unwrap()[0];
            (row.parked_at.is_some() && row.attempts == 1).then_some(())
        },
    )
    .await;
    assert_eq!(
        dead_letters::discard(&app.pool, "other", None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        dead_letters::discard(&app.pool, "audit", None)
            .await
            .unwrap(),
        1
    );
    assert!(
        dead_letters::list(&app.pool, "audit")
            .await
            .unwrap()
            .is_empty()
    );
    eventually(
        Duration::from_secs(10),
        "the later event's entry",
        || async {
            let items = app.entries("alice", "").await;
            (items.len() == 1).then_some(())
        },
    )
    .await;
    sidecar.shutdown().await;
}

/// The consumer-side outage the sidecar's retries do not outlast: the event reaches audit's
/// dead-letter topic, is stored, retried from the table while the failure lasts and recorded
/// once it is over — nothing lost, nothing twice.
#[tokio::test]
async fn an_event_that_outlasts_the_sidecars_retries_is_retried_from_the_table_until_recorded() {
    let (app, sidecar, dapr) = audit_behind_a_sidecar().await;
    // Audit's journal table disappears (SQLSTATE 42P01: a transient failure, not a refusal);
    // the dead-letter table stays reachable.
    sqlx::query("ALTER TABLE audit_log RENAME TO audit_log_away")
        .execute(&app.pool)
        .await
        .unwrap();
    let event = task_event(EventType::TaskCreated, "alice", Uuid::new_v4(), 1);
    let envelope = serde_json::to_value(CloudEvent::for_task_event(
        "backend-api",
        event.clone(),
        None,
    ))
    .unwrap();
    dapr.publish_cloudevent(PUBSUB, "task-created", &envelope, "alice")
        .await
        .unwrap();
    let reason: String = eventually(
        Duration::from_secs(15),
        "a failed attempt from the table",
        || async {
            sqlx::query_scalar(
                "SELECT reason FROM dead_letters \
                 WHERE consumer = 'audit' AND attempts >= 1 AND reason IS NOT NULL \
                 AND parked_at IS NULL",
            )
            .fetch_optional(&app.pool)
            .await
            .unwrap()
        },
    )
    .await;
    assert!(reason.starts_with("database unavailable"), "{reason}");
    sqlx::query("ALTER TABLE audit_log_away RENAME TO audit_log")
        .execute(&app.pool)
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "the recovered entry", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM dead_letters")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (left == 0 && app.rows().await == 1).then_some(())
    })
    .await;
    let items = app.entries("alice", "").await;
    assert_eq!(items[0]["event_id"], serde_json::json!(event.event_id));
    sidecar.shutdown().await;
}
