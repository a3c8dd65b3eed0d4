//! Service invocation (docs/dapr-behaviour.md §7): a transparent HTTP proxy to another registered
//! app.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::server::{Sidecar, api_error};

/// Spreads calls over the replicas of an app-id.
static NEXT_INSTANCE: AtomicUsize = AtomicUsize::new(0);

const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for name in HOP_BY_HOP {
        out.remove(name);
    }
    out
}

pub async fn invoke(
    State(s): State<Sidecar>,
    Path((target, _)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let instances: Vec<_> = s.shared.instances_of(&target).cloned().collect();
    if instances.is_empty() {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_DIRECT_INVOKE",
            format!(
                "failed to invoke, id: {target}, err: app id {target} is not registered with the dev sidecar"
            ),
        );
    }
    let callee = &instances[NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed) % instances.len()];
    if !callee.healthy.load(Ordering::Acquire) {
        // Contract 8.3: invocations of an unhealthy app are short-circuited.
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_DIRECT_INVOKE",
            format!("failed to invoke, id: {target}, err: app is not in a healthy state"),
        );
    }
    // The raw URI keeps the caller's percent-encoding, which the decoded path parameter loses.
    let prefix = format!("/v1.0/invoke/{target}/method");
    let path = uri.path().strip_prefix(&prefix).unwrap_or("/");
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("http://{}{path}{query}", callee.app_socket());

    let mut forwarded = end_to_end(&headers);
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            forwarded.insert(HeaderName::from_static(name), value);
        }
    };
    set("dapr-caller-app-id", &s.app.app_id);
    set("dapr-caller-namespace", "default");
    set("dapr-callee-app-id", &target);
    if let Some(token) = &callee.api_token {
        set("dapr-api-token", token);
    }
    let upstream = s
        .shared
        .http
        .request(method, url)
        .headers(forwarded)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(response) => response,
        Err(e) => {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ERR_DIRECT_INVOKE",
                format!("failed to invoke, id: {target}, err: {e}"),
            );
        }
    };
    let status = upstream.status();
    let response_headers = end_to_end(upstream.headers());
    match upstream.bytes().await {
        Ok(bytes) => (status, response_headers, bytes).into_response(),
        Err(e) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_DIRECT_INVOKE",
            format!("failed to read the response of {target}: {e}"),
        ),
    }
}
