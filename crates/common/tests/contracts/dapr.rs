use std::time::{Duration, Instant};

use common::dapr::{DaprClient, DaprError, StateItem};
use dev_sidecar::{AppSpec, DevSidecar, SidecarConfig};
use serde_json::{Value, json};
use uuid::Uuid;

async fn sidecar() -> (DevSidecar, DaprClient) {
    let dir = std::env::temp_dir().join(format!("taskfleet-common-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("components.yaml"),
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.in-memory\n  version: v1\n  metadata: []\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.redis\n  version: v1\n  metadata:\n  - name: redisHost\n    value: 127.0.0.1:6379\n",
    )
    .unwrap();
    let app_id = format!("common-test-{}", Uuid::new_v4().simple());
    let app_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sidecar = dev_sidecar::start(SidecarConfig {
        resources_dir: dir.clone(),
        apps: vec![AppSpec::new(&app_id, app_port)],
        ..SidecarConfig::default()
    })
    .await
    .unwrap();
    // Read once at start, as daprd does: the folder is no longer needed.
    std::fs::remove_dir_all(dir).unwrap();
    let port = sidecar.sidecar_port(&app_id).unwrap();
    (sidecar, DaprClient::new(port, None))
}

fn item(key: &str, value: Value) -> StateItem {
    StateItem {
        key: key.to_owned(),
        value,
        etag: None,
        first_write: false,
        ttl: None,
    }
}

#[tokio::test]
async fn a_published_cloudevent_keeps_our_id_type_and_source_and_carries_the_partition_key() {
    let (sidecar, dapr) = sidecar().await;
    dapr.wait_for_outbound(Duration::from_secs(5))
        .await
        .unwrap();
    let envelope = json!({"specversion": "1.0", "id": "evt-1", "source": "backend-api", "type": "com.taskfleet.task-created.v1",
                          "datacontenttype": "application/json", "data": {"x": 1}});
    dapr.publish_cloudevent("pubsub", "task-created", &envelope, "alice")
        .await
        .unwrap();
    let published = sidecar.published();
    assert_eq!(published.len(), 1);
    let message = &published[0];
    assert_eq!(
        (message.topic.as_str(), message.partition_key.as_deref()),
        ("task-created", Some("alice"))
    );
    assert_eq!(message.envelope["id"], "evt-1");
    assert_eq!(message.envelope["type"], "com.taskfleet.task-created.v1");
    assert_eq!(message.envelope["source"], "backend-api");
    assert_eq!(
        message.envelope["data"],
        json!({"x": 1}),
        "not double-wrapped"
    );
    let unknown = dapr
        .publish_cloudevent("nope", "task-created", &envelope, "alice")
        .await
        .unwrap_err();
    assert!(matches!(unknown, DaprError::Rejected { status, .. } if status == 404));
    assert!(!unknown.is_transient());
    sidecar.shutdown().await;
}

#[tokio::test]
async fn state_round_trips_with_etags_first_write_ttl_and_delete() {
    let (sidecar, dapr) = sidecar().await;
    let key = format!("k-{}", Uuid::new_v4().simple());
    assert_eq!(
        dapr.get_state::<Value>("statestore", &key).await.unwrap(),
        None
    );
    dapr.save_state("statestore", &item(&key, json!({"n": 1})))
        .await
        .unwrap();
    let entry = dapr
        .get_state::<Value>("statestore", &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.value, json!({"n": 1}));
    let etag = entry.etag.clone().unwrap();
    // A save with the current ETag wins; the old ETag then loses.
    dapr.save_state(
        "statestore",
        &StateItem {
            etag: Some(etag.clone()),
            ..item(&key, json!({"n": 2}))
        },
    )
    .await
    .unwrap();
    let stale = dapr
        .save_state(
            "statestore",
            &StateItem {
                etag: Some(etag.clone()),
                ..item(&key, json!({"n": 3}))
            },
        )
        .await;
    assert!(matches!(stale, Err(DaprError::EtagMismatch)), "{stale:?}");
    assert!(matches!(
        dapr.delete_state("statestore", &key, Some(&etag)).await,
        Err(DaprError::EtagMismatch)
    ));
    dapr.delete_state("statestore", &key, None).await.unwrap();
    assert_eq!(
        dapr.get_state::<Value>("statestore", &key).await.unwrap(),
        None
    );
    // First-write on a missing key succeeds, a second first-write is AlreadyExists (not an
    // outage), and a TTL makes the claim vanish. (Redis lets a first-write overwrite a key that
    // was written without first-write, docs/dapr-behaviour.md §4.5, so claims always use
    // first-write.)
    let claim = format!("claim-{}", Uuid::new_v4().simple());
    let ttl = StateItem {
        first_write: true,
        ttl: Some(Duration::from_secs(1)),
        ..item(&claim, json!(true))
    };
    dapr.save_state("statestore", &ttl).await.unwrap();
    let again = dapr.save_state("statestore", &ttl).await;
    assert!(matches!(again, Err(DaprError::AlreadyExists)), "{again:?}");
    assert!(
        dapr.get_state::<Value>("statestore", &claim)
            .await
            .unwrap()
            .is_some()
    );
    let started = Instant::now();
    while dapr
        .get_state::<Value>("statestore", &claim)
        .await
        .unwrap()
        .is_some()
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "ttl did not expire"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_missing_sidecar_is_a_transient_error_and_waiting_for_it_gives_up_at_the_deadline() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dapr = DaprClient::new(port, None);
    let error = dapr
        .publish_cloudevent("pubsub", "t", &json!({"id": "x"}), "k")
        .await
        .unwrap_err();
    assert!(matches!(error, DaprError::Unavailable(_)) && error.is_transient());
    let started = Instant::now();
    assert!(
        dapr.wait_for_outbound(Duration::from_millis(300))
            .await
            .is_err()
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
