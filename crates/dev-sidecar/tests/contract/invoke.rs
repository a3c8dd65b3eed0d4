//! Service invocation (docs/dapr-behaviour.md §7).

use std::sync::Arc;

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn invocation_passes_method_path_query_body_and_the_upstream_reply_through() {
    let callee = TestApp::start_with(
        0,
        (404, String::new()),
        Arc::new(|_: &Recorded, _| (418, "short and stout".to_owned())),
    )
    .await;
    let sidecar = start_sidecar(
        PUBSUB,
        vec![app("backend-api", closed_port()), app("audit", callee.port)],
    )
    .await;
    let response = client()
        .put(url(
            &sidecar,
            "backend-api",
            "/v1.0/invoke/audit/method/api/audit/x?limit=5",
        ))
        .header("content-type", "text/plain")
        .header("x-custom", "yes")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 418);
    assert_eq!(response.text().await.unwrap(), "short and stout");

    let received = callee.received_at("/api/audit/x");
    let request = &received[0];
    assert_eq!(request.method, "PUT");
    assert_eq!(request.query.as_deref(), Some("limit=5"));
    assert_eq!(&request.body[..], b"hello");
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("text/plain")
    );
    assert_eq!(request.header("x-custom").as_deref(), Some("yes"));
    assert_eq!(
        request.header("dapr-caller-app-id").as_deref(),
        Some("backend-api")
    );
    assert_eq!(
        request.header("dapr-callee-app-id").as_deref(),
        Some("audit")
    );
    sidecar.shutdown().await;
}

#[tokio::test]
async fn invoking_an_unknown_app_is_a_500_err_direct_invoke() {
    let sidecar = start_sidecar(PUBSUB, vec![app("backend-api", closed_port())]).await;
    let response = client()
        .get(url(&sidecar, "backend-api", "/v1.0/invoke/nobody/method/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "ERR_DIRECT_INVOKE");
    sidecar.shutdown().await;
}
