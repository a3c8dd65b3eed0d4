//! Health endpoints (docs/dapr-behaviour.md §8.1).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn outbound_health_is_204_even_before_the_app_listens() {
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", closed_port())]).await;
    let response = client()
        .get(url(&sidecar, "audit", "/v1.0/healthz/outbound"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    sidecar.shutdown().await;
}

#[tokio::test]
async fn healthz_is_500_while_the_app_port_is_closed_then_204() {
    let port = closed_port();
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", port)]).await;
    let healthz = url(&sidecar, "audit", "/v1.0/healthz");
    let response = client().get(&healthz).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_HEALTH_NOT_READY");

    let _test_app = TestApp::start_with(port, (200, json!([]).to_string()), reply(200, "")).await;
    eventually(Duration::from_secs(5), "healthz 204", || async {
        (client().get(&healthz).send().await.ok()?.status() == 204).then_some(())
    })
    .await;
    sidecar.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_the_sidecar_port() {
    let sidecar = start_sidecar(PUBSUB, vec![app("audit", closed_port())]).await;
    let outbound = url(&sidecar, "audit", "/v1.0/healthz/outbound");
    sidecar.shutdown().await;
    assert!(client().get(&outbound).send().await.is_err());
}

/// daprd with `DAPR_API_TOKEN` (dapr/dapr `pkg/api/http/middlewares.go`,
/// `APITokenAuthMiddleware`): only `GET /v1.0/healthz` and `GET /v1.0/healthz/outbound` are
/// exempt; every other call without the exact token is 401 with the plain body
/// `invalid api token`.
#[tokio::test]
async fn with_an_api_token_only_the_health_endpoints_answer_without_it() {
    let mut audit = app("audit", closed_port());
    audit.dapr_api_token = Some("api-s3cret".into());
    let sidecar = start_sidecar(PUBSUB, vec![audit]).await;
    let outbound = client()
        .get(url(&sidecar, "audit", "/v1.0/healthz/outbound"))
        .send()
        .await
        .unwrap();
    assert_eq!(outbound.status(), 204);
    for (method, path) in [
        (reqwest::Method::POST, "/v1.0/publish/pubsub/orders"),
        (reqwest::Method::GET, "/v1.0/state/statestore/k"),
        (reqwest::Method::POST, "/v1.0/state/statestore"),
        (reqwest::Method::GET, "/v1.0/metadata"),
        (reqwest::Method::GET, "/dev/messages"),
        (reqwest::Method::POST, "/v1.0/healthz/outbound"),
    ] {
        for token in [None, Some("wrong")] {
            let mut request = client()
                .request(method.clone(), url(&sidecar, "audit", path))
                .header("content-type", "application/json")
                .body("[]");
            if let Some(token) = token {
                request = request.header("dapr-api-token", token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
            assert_eq!(response.text().await.unwrap().trim(), "invalid api token");
        }
    }
    let published = client()
        .post(url(&sidecar, "audit", "/v1.0/publish/pubsub/orders"))
        .header("dapr-api-token", "api-s3cret")
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 204);
    sidecar.shutdown().await;
}
