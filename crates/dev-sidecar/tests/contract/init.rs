//! Component initialisation and the broker's topics, as daprd and Kafka do them
//! (docs/dapr-behaviour.md, "Component initialisation" and "Topics"): each test names the
//! daprd behaviour it pins.

use std::collections::{BTreeMap, BTreeSet};

use dev_sidecar::{AppSpec, DevSidecar, Environment, KubernetesSecrets, Mode, SidecarConfig};
use serde_json::json;

use crate::helpers::*;

pub(crate) async fn try_start(
    yaml: &str,
    apps: Vec<AppSpec>,
    environment: Environment,
    broker_topics: Option<BTreeSet<String>>,
) -> anyhow::Result<DevSidecar> {
    let resources_dir = resources(yaml);
    let started = dev_sidecar::start(SidecarConfig {
        resources_dir: resources_dir.clone(),
        apps,
        delivery: Some(fast_policy()),
        environment,
        broker_topics,
        listen_address: None,
    })
    .await;
    std::fs::remove_dir_all(resources_dir).unwrap();
    started
}

fn kubernetes(secrets: KubernetesSecrets) -> Environment {
    Environment {
        mode: Mode::Kubernetes,
        kubernetes_secrets: secrets,
        host_aliases: BTreeMap::new(),
    }
}

/// The error that stops the sidecar; the test fails if it starts.
async fn start_error(yaml: &str, apps: Vec<AppSpec>, environment: Environment) -> String {
    match try_start(yaml, apps, environment, None).await {
        Ok(_) => panic!("the sidecar started, but daprd stops here"),
        Err(error) => format!("{error:#}"),
    }
}

const KUBERNETES_STORE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: kubernetes
spec:
  type: secretstores.kubernetes
  version: v1
  metadata: []
"#;

/// daprd (Kubernetes mode) registers its built-in secret store `kubernetes` before the declared
/// components; a declared one of that name is "component kubernetes already exists" and the
/// sidecar exits (pkg/runtime: the built-in store is added in kubernetes mode only).
#[tokio::test]
async fn kubernetes_mode_refuses_a_component_named_like_the_built_in_secret_store() {
    let app = app("backend-api", closed_port());
    let error = start_error(
        KUBERNETES_STORE,
        vec![app.clone()],
        kubernetes(KubernetesSecrets::new()),
    )
    .await;
    assert!(
        error.contains("component kubernetes already exists"),
        "{error}"
    );
    // Outside Kubernetes the name is free.
    let sidecar = try_start(KUBERNETES_STORE, vec![app], Environment::default(), None)
        .await
        .unwrap();
    sidecar.shutdown().await;
}

/// Standalone: the disk loader refuses a second definition of a name before anything starts,
/// `ignoreErrors` or not. Kubernetes: `ignoreErrors: true` on the clashing `kubernetes`
/// component lets daprd drop it and go on with the built-in store.
#[tokio::test]
async fn duplicate_names_are_fatal_on_disk_and_ignorable_only_for_the_builtin_clash() {
    let ignoring =
        |yaml: &str| yaml.replace("  metadata: []", "  ignoreErrors: true\n  metadata: []");
    let twice = format!("{PUBSUB}---{}", ignoring(PUBSUB));
    let error = start_error(
        &twice,
        vec![app("audit", closed_port())],
        Environment::default(),
    )
    .await;
    assert!(
        error.contains("duplicate definition of Component name pubsub"),
        "{error}"
    );

    let sidecar = try_start(
        &ignoring(KUBERNETES_STORE),
        vec![app("audit", closed_port())],
        kubernetes(KubernetesSecrets::new()),
        None,
    )
    .await
    .unwrap();
    sidecar.shutdown().await;
}

const BROADCAST: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub-broadcast
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: consumerGroup
      value: "{podName}"
"#;

/// daprd resolves `{podName}` from `POD_NAME`, which only the injector sets; without it the
/// component fails to initialise and the sidecar stops (as under `dapr run`).
#[tokio::test]
async fn pod_name_in_metadata_without_a_pod_name_stops_the_sidecar() {
    let mut websocket = app("websocket", closed_port());
    websocket.pod_name = None;
    let error = start_error(BROADCAST, vec![websocket.clone()], Environment::default()).await;
    assert!(
        error.contains("property consumerGroup refers to {podName} but podName is not set"),
        "{error}"
    );
    assert!(error.contains("pubsub-broadcast"), "{error}");

    // Out of scope, the component is not initialised for this app: no error.
    let scoped = format!("{BROADCAST}scopes: [notification]\n");
    let sidecar = try_start(&scoped, vec![websocket], Environment::default(), None)
        .await
        .unwrap();
    sidecar.shutdown().await;
}

/// The injector always sets POD_NAME on the daprd container: in Kubernetes mode an app without
/// a pod name is a wrongly set-up stand-in, refused at once.
#[tokio::test]
async fn kubernetes_mode_needs_a_pod_name_for_every_app() {
    let mut api = app("backend-api", closed_port());
    api.pod_name = None;
    let error = start_error(PUBSUB, vec![api], kubernetes(KubernetesSecrets::new())).await;
    assert!(error.contains("POD_NAME"), "{error}");
}

const STORE_WITH_SECRETS: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
    - name: redisHost
      secretKeyRef: {name: redis, key: redis-host}
    - name: redisPassword
      secretKeyRef: {name: redis, key: redis-password}
"#;

fn redis_secret(host: &str) -> KubernetesSecrets {
    BTreeMap::from([(
        "redis".to_owned(),
        BTreeMap::from([
            ("redis-host".to_owned(), host.to_owned()),
            ("redis-password".to_owned(), String::new()),
        ]),
    )])
}

async fn save_and_read(sidecar: &DevSidecar, app_id: &str) -> u16 {
    let key = uuid::Uuid::new_v4().simple().to_string();
    let saved = client()
        .post(url(sidecar, app_id, "/v1.0/state/statestore"))
        .json(&json!([{"key": key, "value": {"ok": true}}]))
        .send()
        .await
        .unwrap();
    let status = saved.status().as_u16();
    if status == 204 {
        let read = client()
            .get(url(
                sidecar,
                app_id,
                &format!("/v1.0/state/statestore/{key}"),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        client()
            .delete(url(
                sidecar,
                app_id,
                &format!("/v1.0/state/statestore/{key}"),
            ))
            .send()
            .await
            .unwrap();
    }
    status
}

/// In Kubernetes mode a `secretKeyRef` without `auth.secretStore` reads the built-in
/// `kubernetes` store: the operator resolves it from the namespace's Secrets, and a missing
/// Secret fails the component list, so daprd stops. Standalone has no default store: the
/// component waits for a store that never loads and is never initialised.
#[tokio::test]
async fn kubernetes_mode_reads_secret_key_refs_from_the_namespace_secrets() {
    let app_id = format!("secrets-{}", uuid::Uuid::new_v4().simple());
    let mut spec = app(&app_id, closed_port());
    spec.pod_name = Some(format!("{app_id}-abc"));
    let sidecar = try_start(
        STORE_WITH_SECRETS,
        vec![spec.clone()],
        kubernetes(redis_secret("127.0.0.1:6379")),
        None,
    )
    .await
    .unwrap();
    assert_eq!(save_and_read(&sidecar, &app_id).await, 204);
    sidecar.shutdown().await;

    let error = start_error(
        STORE_WITH_SECRETS,
        vec![spec.clone()],
        kubernetes(KubernetesSecrets::new()),
    )
    .await;
    assert!(error.contains(r#"secrets "redis" not found"#), "{error}");

    // `dapr run` has no default secret store: the component is never initialised.
    let sidecar = try_start(STORE_WITH_SECRETS, vec![spec], Environment::default(), None)
        .await
        .unwrap();
    let response = client()
        .get(url(&sidecar, &app_id, "/v1.0/state/statestore/any"))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["errorCode"], "ERR_STATE_STORE_NOT_CONFIGURED",
        "{body}"
    );
    sidecar.shutdown().await;
}

/// A Service name in `redisHost` resolves through the cluster's DNS; the stand-in maps it with
/// a host alias, so the component text stays as it is deployed.
#[tokio::test]
async fn host_aliases_resolve_a_service_name_in_redis_host() {
    let app_id = format!("alias-{}", uuid::Uuid::new_v4().simple());
    let mut spec = app(&app_id, closed_port());
    spec.pod_name = Some(format!("{app_id}-abc"));
    let mut environment = kubernetes(redis_secret("redis:6379"));
    environment
        .host_aliases
        .insert("redis".to_owned(), "127.0.0.1".to_owned());
    let sidecar = try_start(STORE_WITH_SECRETS, vec![spec], environment, None)
        .await
        .unwrap();
    assert_eq!(save_and_read(&sidecar, &app_id).await, 204);
    sidecar.shutdown().await;
}

pub(crate) const KAFKA: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.kafka
  version: v1
  metadata: []
"#;

/// Redpanda does not create topics on first use (auto_create_topics_enabled=false): Kafka
/// answers a produce to a missing topic with UNKNOWN_TOPIC_OR_PARTITION, and daprd answers the
/// publish with 500 ERR_PUBSUB_PUBLISH_MESSAGE. Redis Streams create the stream on XADD.
#[tokio::test]
async fn publishing_to_a_topic_the_broker_lacks_fails_on_kafka() {
    let topics = Some(BTreeSet::from(["orders".to_owned()]));
    let sidecar = try_start(
        KAFKA,
        vec![app("backend-api", closed_port())],
        Environment::default(),
        topics.clone(),
    )
    .await
    .unwrap();
    let publish = |topic: &'static str| {
        let url = url(
            &sidecar,
            "backend-api",
            &format!("/v1.0/publish/pubsub/{topic}"),
        );
        async move {
            client()
                .post(url)
                .json(&json!({"n": 1}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(publish("orders").await.status(), 204);
    let refused = publish("invoices").await;
    assert_eq!(refused.status(), 500);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_PUBSUB_PUBLISH_MESSAGE");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not exist on this broker"),
        "{body}"
    );
    sidecar.shutdown().await;

    let redis = KAFKA.replace("pubsub.kafka", "pubsub.redis");
    let sidecar = try_start(
        &redis,
        vec![app("backend-api", closed_port())],
        Environment::default(),
        topics,
    )
    .await
    .unwrap();
    let response = client()
        .post(url(
            &sidecar,
            "backend-api",
            "/v1.0/publish/pubsub/invoices",
        ))
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    sidecar.shutdown().await;
}
