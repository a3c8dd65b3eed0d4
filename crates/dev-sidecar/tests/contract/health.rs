//! Health endpoints (contract 8.1).

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
