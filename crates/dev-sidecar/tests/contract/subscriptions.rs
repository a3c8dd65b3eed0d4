//! Subscription discovery (docs/dapr-behaviour.md §2.1), declarative subscriptions (2.2), routing
//! rules and
//! `/v1.0/metadata` (2.8).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

async fn metadata(sidecar: &dev_sidecar::DevSidecar, app_id: &str) -> Value {
    client()
        .get(url(sidecar, app_id, "/v1.0/metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_500_from_dapr_subscribe_means_no_subscriptions() {
    // The body lists a valid subscription: only the status must make the sidecar ignore it.
    let body = json!([subscription("orders", "/orders", None)]).to_string();
    let test_app = TestApp::start_with(0, (500, body), reply(200, "")).await;
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", test_app.port)]).await;
    publish_json(&sidecar, "audit", "orders", "", &json!(1)).await;
    eventually(Duration::from_secs(5), "the subscribe call", || async {
        (!test_app.received_at("/dapr/subscribe").is_empty()).then_some(())
    })
    .await;
    // A negative result needs a window: 300 ms is many delivery attempts at test backoffs.
    for _ in 0..15 {
        assert_eq!(
            metadata(&sidecar, "audit").await["subscriptions"],
            json!([])
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(test_app.received_at("/orders").is_empty());
    assert_eq!(
        test_app.received_at("/dapr/subscribe").len(),
        1,
        "called once, not re-polled"
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn routing_rules_pick_the_path_by_event_type_and_fall_back_to_the_default() {
    let subs = json!([{
        "pubsubname": "pubsub", "topic": "orders",
        "routes": {"rules": [{"match": "event.type == \"special\"", "path": "special"}],
                   "default": "/orders"}
    }]);
    let test_app = TestApp::start(subs, reply(200, "")).await;
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", test_app.port)]).await;
    wait_subscribed(&sidecar, "audit", 1).await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        "?metadata.cloudevent.type=special&metadata.partitionKey=k",
        &json!(1),
    )
    .await;
    publish_json(
        &sidecar,
        "audit",
        "orders",
        "?metadata.cloudevent.type=plain&metadata.partitionKey=k",
        &json!(2),
    )
    .await;
    eventually(Duration::from_secs(5), "the plain event", || async {
        (!test_app.received_at("/orders").is_empty()).then_some(())
    })
    .await;
    assert_eq!(test_app.received_at("/special")[0].json()["data"], json!(1));
    assert_eq!(test_app.received_at("/orders").len(), 1);
    assert_eq!(test_app.received_at("/orders")[0].json()["data"], json!(2));

    let meta = metadata(&sidecar, "audit").await;
    assert_eq!(meta["id"], "audit");
    assert_eq!(meta["runtimeVersion"], "dev-sidecar");
    assert_eq!(
        meta["components"],
        json!([{"name": "pubsub", "type": "pubsub.in-memory", "version": "v1"}])
    );
    let sub = &meta["subscriptions"][0];
    assert_eq!(sub["type"], "PROGRAMMATIC");
    assert_eq!(sub["topic"], "orders");
    assert_eq!(
        sub["rules"],
        json!([{"match": "event.type == \"special\"", "path": "/special"}, {"match": "", "path": "/orders"}])
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_declarative_subscription_scoped_to_the_app_is_delivered() {
    let yaml = format!(
        "{PUBSUB}---\napiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: audit-orders\n\
         spec:\n  pubsubname: pubsub\n  topic: orders\n  routes:\n    default: /declared\n\
         scopes:\n  - audit\n---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\nspec: {{}}\n"
    );
    let test_app = TestApp::start_with(0, (404, String::new()), reply(200, "")).await;
    let other_app = TestApp::start_with(0, (404, String::new()), reply(200, "")).await;
    let sidecar = start_sidecar(
        &yaml,
        vec![
            app("audit", test_app.port),
            app("websocket", other_app.port),
        ],
    )
    .await;
    wait_subscribed(&sidecar, "audit", 1).await;
    publish_json(&sidecar, "audit", "orders", "", &json!({"a": 1})).await;
    eventually(Duration::from_secs(5), "the declared route", || async {
        (!test_app.received_at("/declared").is_empty()).then_some(())
    })
    .await;
    assert_eq!(
        metadata(&sidecar, "audit").await["subscriptions"][0]["type"],
        "DECLARATIVE"
    );
    assert_eq!(
        metadata(&sidecar, "websocket").await["subscriptions"],
        json!([])
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn a_consumer_group_template_of_pod_name_gives_every_replica_every_message() {
    let yaml = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: consumerGroup
      value: "{podName}"
"#;
    let one = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let two = TestApp::start(
        json!([subscription("orders", "/orders", None)]),
        reply(200, ""),
    )
    .await;
    let mut second = app("websocket", two.port);
    second.instance = "websocket-1".into();
    second.pod_name = Some("websocket-1".into());
    let sidecar = start_sidecar(yaml, vec![app("websocket", one.port), second]).await;
    eventually(
        Duration::from_secs(5),
        "both replicas subscribed",
        || async {
            (one.received_at("/dapr/subscribe").len() == 1
                && two.received_at("/dapr/subscribe").len() == 1)
                .then_some(())
        },
    )
    .await;
    wait_subscribed(&sidecar, "websocket", 1).await;
    for n in 0..5 {
        publish_json(&sidecar, "websocket", "orders", "", &json!({"n": n})).await;
    }
    for replica in [&one, &two] {
        eventually(
            Duration::from_secs(5),
            "all five at each replica",
            || async { (replica.received_at("/orders").len() == 5).then_some(()) },
        )
        .await;
    }
    sidecar.shutdown().await;
}
