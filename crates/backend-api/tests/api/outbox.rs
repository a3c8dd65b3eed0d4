use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::dapr::DaprClient;
use common::outbox::{OutboxRelay, RelaySettings};
use dev_sidecar::{AppSpec, DeliveryPolicy, SidecarConfig};
use futures::future::join_all;
use serde_json::json;
use testkit::{ReservedPort, reserve_port};
use uuid::Uuid;

use crate::helpers::{free_port, fresh_database, spawn_app_with_sidecar};

fn resources() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taskfleet-outbox-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("pubsub.yaml"),
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.in-memory\n  version: v1\n  metadata: []\n",
    )
    .unwrap();
    dir
}

async fn start_sidecar(
    app_id: &str,
    app_port: u16,
    sidecar: ReservedPort,
) -> dev_sidecar::DevSidecar {
    let spec = AppSpec {
        app_id: app_id.to_owned(),
        instance: app_id.to_owned(),
        app_port,
        sidecar_port: sidecar.port,
        app_api_token: None,
        dapr_api_token: None,
    };
    dev_sidecar::start_with_listeners(
        SidecarConfig {
            resources_dir: resources(),
            apps: vec![spec],
            delivery: DeliveryPolicy::default(),
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
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
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
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
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
    // Let the relay find the sidecar and go idle, so the next event is sent on NOTIFY.
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
    let reserved = reserve_port();
    let sidecar_port = reserved.port;
    // The sidecar needs an app port to serve; nothing has to listen there for publishing.
    let sidecar = start_sidecar("backend-api", free_port(), reserved).await;
    let mut conn = pool.acquire().await.unwrap();
    for i in 0..300 {
        let id = Uuid::now_v7();
        let envelope = json!({"specversion": "1.0", "id": id.to_string(), "source": "test", "type": "t", "data": {"n": i}});
        common::outbox::enqueue_envelope(
            &mut conn,
            id,
            "pubsub",
            "task-created",
            &format!("user-{}", i % 7),
            &envelope,
        )
        .await
        .unwrap();
    }
    drop(conn);
    let settings = RelaySettings {
        batch_size: 25,
        ..RelaySettings::default()
    };
    let relays: Vec<OutboxRelay> = (0..2)
        .map(|_| {
            OutboxRelay::new(
                pool.clone(),
                DaprClient::new(sidecar_port, None),
                settings.clone(),
            )
        })
        .collect();
    join_all(relays.iter().map(|relay| async move {
        loop {
            let outcome = relay.publish_batch().await.unwrap();
            if outcome.claimed == 0 {
                break;
            }
        }
    }))
    .await;
    let published = sidecar.published();
    let ids: HashSet<String> = published
        .iter()
        .map(|m| m.envelope["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!((published.len(), ids.len()), (300, 300));
    for user in 0..7 {
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
    sidecar.shutdown().await;
}
