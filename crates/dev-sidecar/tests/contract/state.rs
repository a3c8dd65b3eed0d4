//! State API against a real Redis (docs/dapr-behaviour.md §4), plus the in-memory store.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const REDIS_STORE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
    - name: redisHost
      value: 127.0.0.1:6379
    - name: redisPassword
      value: ""
"#;

const MEMORY_STORE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata: []
"#;

/// A sidecar for a fresh app-id: with the default `keyPrefix: appid` every test has its own
/// Redis key space, so tests run in parallel.
struct Store {
    sidecar: dev_sidecar::DevSidecar,
    app_id: String,
}

impl Store {
    async fn start(yaml: &str) -> Self {
        let app_id = format!("state-test-{}", uuid::Uuid::new_v4().simple());
        let sidecar = start_sidecar(yaml, vec![app(&app_id, closed_port())]).await;
        Self { sidecar, app_id }
    }

    fn url(&self, path: &str) -> String {
        url(&self.sidecar, &self.app_id, path)
    }

    async fn save(&self, items: Value) -> reqwest::Response {
        client()
            .post(self.url("/v1.0/state/statestore"))
            .json(&items)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, key: &str) -> reqwest::Response {
        client()
            .get(self.url(&format!("/v1.0/state/statestore/{key}")))
            .send()
            .await
            .unwrap()
    }

    async fn etag(&self, key: &str) -> String {
        let response = self.get(key).await;
        assert_eq!(response.status(), 200);
        response.headers()["etag"].to_str().unwrap().to_owned()
    }
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    body["errorCode"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn getting_a_missing_key_returns_204() {
    let store = Store::start(REDIS_STORE).await;
    let response = store.get("nothing-here").await;
    assert_eq!(response.status(), 204);
    assert!(response.headers().get("etag").is_none());
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_saved_value_is_returned_with_200_and_an_etag_under_the_app_id_prefix() {
    let store = Store::start(REDIS_STORE).await;
    assert_eq!(
        store
            .save(json!([{"key": "k", "value": {"seen": true}}]))
            .await
            .status(),
        204
    );
    let response = store.get("k").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "1");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"seen": true})
    );
    assert_eq!(
        store
            .save(json!([{"key": "k", "value": "text"}]))
            .await
            .status(),
        204
    );
    let response = store.get("k").await;
    assert_eq!(response.headers()["etag"], "2");
    assert_eq!(response.text().await.unwrap(), r#""text""#);

    // Dapr's Redis layout: a hash with `data` and `version` under `<app-id>||<key>`.
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (data, version): (String, String) = redis::cmd("HMGET")
        .arg(format!("{}||k", store.app_id))
        .arg("data")
        .arg("version")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((data.as_str(), version.as_str()), (r#""text""#, "2"));
}

#[tokio::test]
async fn saving_with_a_stale_etag_is_a_409() {
    let store = Store::start(REDIS_STORE).await;
    store.save(json!([{"key": "k", "value": 1}])).await;
    let etag = store.etag("k").await;
    assert_eq!(
        store
            .save(json!([{"key": "k", "value": 2, "etag": etag}]))
            .await
            .status(),
        204
    );
    let stale = store
        .save(json!([{"key": "k", "value": 3, "etag": etag}]))
        .await;
    assert_eq!(stale.status(), 409);
    assert_eq!(error_code(stale).await, "ERR_STATE_SAVE");
    assert_eq!(
        store.get("k").await.json::<Value>().await.unwrap(),
        json!(2)
    );
}

#[tokio::test]
async fn saving_with_a_malformed_etag_is_a_400() {
    let store = Store::start(REDIS_STORE).await;
    store.save(json!([{"key": "k", "value": 1}])).await;
    let response = store
        .save(json!([{"key": "k", "value": 2, "etag": "not-a-number"}]))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "ERR_STATE_SAVE");
}

#[tokio::test]
async fn a_first_write_save_without_etag_on_an_existing_key_is_a_500() {
    let store = Store::start(REDIS_STORE).await;
    let first_write =
        json!([{"key": "idem", "value": 1, "options": {"concurrency": "first-write"}}]);
    assert_eq!(store.save(first_write.clone()).await.status(), 204);
    let again = store.save(first_write).await;
    assert_eq!(again.status(), 500);
    assert_eq!(error_code(again).await, "ERR_STATE_SAVE");
}

#[tokio::test]
async fn a_missing_key_or_a_key_with_double_pipe_is_a_malformed_request() {
    let store = Store::start(REDIS_STORE).await;
    for items in [json!([{"value": 1}]), json!([{"key": "a||b", "value": 1}])] {
        let response = store.save(items).await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_code(response).await, "ERR_MALFORMED_REQUEST");
    }
}

#[tokio::test]
async fn an_unknown_state_store_is_a_400() {
    let store = Store::start(REDIS_STORE).await;
    let response = client()
        .get(store.url("/v1.0/state/other/k"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "ERR_STATE_STORE_NOT_FOUND");
}

#[tokio::test]
async fn deleting_a_key_returns_204_and_then_get_returns_204() {
    let store = Store::start(REDIS_STORE).await;
    store.save(json!([{"key": "k", "value": 1}])).await;
    let delete = client()
        .delete(store.url("/v1.0/state/statestore/k"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    assert_eq!(store.get("k").await.status(), 204);
}

#[tokio::test]
async fn deleting_with_a_stale_if_match_is_a_409() {
    let store = Store::start(REDIS_STORE).await;
    store.save(json!([{"key": "k", "value": 1}])).await;
    store.save(json!([{"key": "k", "value": 2}])).await;
    let delete = client()
        .delete(store.url("/v1.0/state/statestore/k"))
        .header("if-match", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 409);
    assert_eq!(error_code(delete).await, "ERR_STATE_DELETE");
    assert_eq!(store.get("k").await.status(), 200);
}

#[tokio::test]
async fn a_value_saved_with_ttl_in_seconds_expires() {
    let store = Store::start(REDIS_STORE).await;
    let items = json!([{"key": "short", "value": 1, "metadata": {"ttlInSeconds": "1"}}]);
    assert_eq!(store.save(items).await.status(), 204);
    assert_eq!(store.get("short").await.status(), 200);
    eventually(Duration::from_secs(5), "the key to expire", || async {
        (store.get("short").await.status() == 204).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_in_memory_store_follows_the_same_etag_and_first_write_rules() {
    let store = Store::start(MEMORY_STORE).await;
    assert_eq!(store.get("k").await.status(), 204);
    let first_write = json!([{"key": "k", "value": 1, "options": {"concurrency": "first-write"}}]);
    assert_eq!(store.save(first_write.clone()).await.status(), 204);
    assert_eq!(store.save(first_write).await.status(), 500);
    let etag = store.etag("k").await;
    assert_eq!(etag, "1");
    assert_eq!(
        store
            .save(json!([{"key": "k", "value": 2, "etag": "7"}]))
            .await
            .status(),
        409
    );
    assert_eq!(
        store
            .save(json!([{"key": "k", "value": 2, "etag": "x"}]))
            .await
            .status(),
        400
    );
    assert_eq!(
        store
            .save(json!([{"key": "k", "value": 2, "etag": etag}]))
            .await
            .status(),
        204
    );
    let ttl = json!([{"key": "t", "value": 1}]);
    assert_eq!(
        client()
            .post(store.url("/v1.0/state/statestore?metadata.ttlInSeconds=1"))
            .json(&ttl)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    eventually(Duration::from_secs(5), "the key to expire", || async {
        (store.get("t").await.status() == 204).then_some(())
    })
    .await;
}
