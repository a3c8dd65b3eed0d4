//! The per-app sidecar HTTP server: routing, health, publish, metadata and the dev
//! inspection endpoint. State and invocation live in their own modules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use serde::Deserialize;
use serde_json::json;

use crate::components::ComponentKind;
use crate::envelope::{self, EnvelopeError, PublishInput};
use crate::runtime::{AppInstance, Shared};

/// Handler state: the process-wide runtime plus the app this port serves.
#[derive(Clone)]
pub struct Sidecar {
    pub shared: Arc<Shared>,
    pub app: Arc<AppInstance>,
}

/// Dapr's error body, `{"errorCode","message"}`.
pub fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"errorCode": code, "message": message.into()});
    (status, axum::Json(body)).into_response()
}

pub fn serve(shared: &Arc<Shared>, app: Arc<AppInstance>, listener: tokio::net::TcpListener) {
    // A child of the process-wide token, so that this one server can be stopped alone.
    let cancel = shared.cancel.child_token();
    *app.server_stop
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(cancel.clone());
    app.serving.store(true, Ordering::Release);
    let state = Sidecar {
        shared: shared.clone(),
        app,
    };
    let router = Router::new()
        .route("/v1.0/healthz", get(healthz))
        .route("/v1.0/healthz/outbound", get(healthz_outbound))
        .route(
            "/v1.0/publish/{pubsub}/{*topic}",
            post(publish).put(publish),
        )
        .route(
            "/v1.0-alpha1/publish/bulk/{pubsub}/{*topic}",
            post(crate::bulk_publish::bulk_publish).put(crate::bulk_publish::bulk_publish),
        )
        .route("/v1.0/metadata", get(metadata))
        .route("/dev/messages", get(dev_messages))
        .route(
            "/v1.0/invoke/{app_id}/method/{*path}",
            any(crate::invoke::invoke),
        )
        .merge(crate::state_api::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_api_token,
        ))
        .with_state(state);
    shared.spawn(async move {
        // daprd is Go, whose TCP connections have Nagle's algorithm off unless told otherwise
        // (`net.TCPConn.SetNoDelay`: "The default is true (no delay)"); axum leaves it on.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
            }
        });
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "sidecar server failed");
        }
    });
}

/// daprd's `APITokenAuthMiddleware` (dapr/dapr `pkg/api/http/middlewares.go`): with
/// `DAPR_API_TOKEN` set, every request needs the exact token in `dapr-api-token`, except
/// `GET /v1.0/healthz` and `GET /v1.0/healthz/outbound` (`isRouteExcludedFromAPITokenAuth`,
/// slashes trimmed); otherwise 401 with the plain-text body `invalid api token`. The header is
/// removed before the request is handled.
async fn require_api_token(
    State(s): State<Sidecar>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(expected) = &s.app.dapr_api_token else {
        return next.run(request).await;
    };
    let path = request.uri().path().trim_matches('/');
    let exempt = request.method() == axum::http::Method::GET
        && matches!(path, "v1.0/healthz" | "v1.0/healthz/outbound");
    if exempt {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get("dapr-api-token")
        .map(|v| v.as_bytes());
    if given != Some(expected.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "invalid api token\n",
        )
            .into_response();
    }
    request.headers_mut().remove("dapr-api-token");
    next.run(request).await
}

async fn healthz(State(s): State<Sidecar>) -> Response {
    if s.app.ready.load(Ordering::Acquire) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_HEALTH_NOT_READY",
            format!(
                "dapr is not ready: waiting for the app to listen on port {}",
                s.app.app_port
            ),
        )
    }
}

/// Components load before the server binds, so outbound is healthy as soon as it answers.
async fn healthz_outbound() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn publish(
    State(s): State<Sidecar>,
    Path((pubsub, topic)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app_id = s.app.app_id.as_str();
    if let Some(refused) = pubsub_refusal(&s, &pubsub, &topic) {
        return refused;
    }
    let metadata: BTreeMap<String, String> = query
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("metadata.").map(|k| (k.to_owned(), v)))
        .collect();
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let input = PublishInput {
        app_id,
        pubsub: &pubsub,
        topic: &topic,
        content_type: header_str(header::CONTENT_TYPE.as_str()),
        body: &body,
        metadata: &metadata,
        traceparent: header_str("traceparent"),
        tracestate: header_str("tracestate"),
    };
    let built = match envelope::build(&input) {
        Ok(built) => built,
        Err(error) => return envelope_refusal(error),
    };
    if let Err(error) = produce(&s, &pubsub, &topic).await {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_PUBSUB_PUBLISH_MESSAGE",
            format!("error when publishing to topic {topic} in pubsub {pubsub}: {error}"),
        );
    }
    let id = built
        .value
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let stored = s
        .shared
        .broker
        .append(&pubsub, &topic, metadata, built.bytes);
    tracing::info!(app_id, %pubsub, %topic, id, partition_key = stored.key.as_deref(), "published");
    StatusCode::NO_CONTENT.into_response()
}

/// daprd's answer to an envelope it cannot build: a bad metadata value (400) or a CloudEvent
/// it cannot read (500).
pub(crate) fn envelope_refusal(error: EnvelopeError) -> Response {
    match error {
        EnvelopeError::BadMetadata(message) => api_error(
            StatusCode::BAD_REQUEST,
            "ERR_PUBSUB_REQUEST_METADATA",
            message,
        ),
        EnvelopeError::CloudEventSerialization(message) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_PUBSUB_CLOUD_EVENTS_SER",
            message,
        ),
    }
}

/// The checks every publish runs before anything else (`validateAndGetPubsubAndTopic`): a
/// pub/sub configured for the app, the one named, a topic. The refusal, if any.
pub(crate) fn pubsub_refusal(s: &Sidecar, pubsub: &str, topic: &str) -> Option<Response> {
    let mut pubsubs = s
        .shared
        .components_for(&s.app.app_id, ComponentKind::PubSub)
        .peekable();
    if pubsubs.peek().is_none() {
        return Some(api_error(
            StatusCode::BAD_REQUEST,
            "ERR_PUBSUB_NOT_CONFIGURED",
            "no pubsub is configured",
        ));
    }
    if !pubsubs.any(|c| c.name == pubsub) {
        return Some(api_error(
            StatusCode::NOT_FOUND,
            "ERR_PUBSUB_NOT_FOUND",
            format!("pubsub {pubsub} is not found"),
        ));
    }
    if topic.is_empty() {
        return Some(api_error(
            StatusCode::NOT_FOUND,
            "ERR_TOPIC_NAME_EMPTY",
            format!("topic is empty in pubsub {pubsub}"),
        ));
    }
    None
}

/// Waits until the broker takes a message on `topic`: a failed produce is retried as the
/// component's outbound Resiliency target says (docs/dapr-behaviour.md, "Delivery"), then the
/// broker's error is returned.
pub(crate) async fn produce(s: &Sidecar, pubsub: &str, topic: &str) -> Result<(), String> {
    let app_id = s.app.app_id.as_str();
    let policy = s.shared.resources.resiliency.outbound_retry(app_id, pubsub);
    let mut failures = 0;
    while let Err(error) = s.shared.producible(pubsub, topic) {
        failures += 1;
        if policy.exhausted(failures) {
            tracing::warn!(app_id, %pubsub, %topic, attempts = failures, %error, "publish failed");
            return Err(error);
        }
        tokio::time::sleep(policy.backoff(failures)).await;
    }
    Ok(())
}

async fn metadata(State(s): State<Sidecar>) -> Response {
    let components: Vec<_> = s
        .shared
        .resources
        .components
        .iter()
        .filter(|c| c.visible_to(&s.app.app_id))
        .map(|c| json!({"name": c.name, "type": c.type_name, "version": c.version}))
        .collect();
    let subscriptions: Vec<_> = s
        .app
        .subscriptions
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .map(|(sub, kind)| {
            let rules: Vec<_> = sub
                .effective_rules()
                .into_iter()
                .map(|r| json!({"match": r.match_expr, "path": crate::subscriptions::normalize_path(&r.path)}))
                .collect();
            json!({
                "type": kind,
                "pubsubname": sub.pubsubname,
                "topic": sub.topic,
                "deadLetterTopic": sub.dead_letter_topic.clone().unwrap_or_default(),
                "metadata": sub.metadata,
                "rules": rules,
            })
        })
        .collect();
    axum::Json(json!({
        "id": s.app.app_id,
        "runtimeVersion": "dev-sidecar",
        "components": components,
        "subscriptions": subscriptions,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct MessagesQuery {
    topic: Option<String>,
    limit: Option<usize>,
}

/// Not part of Dapr: the most recent published messages (newest last), optionally of one topic.
async fn dev_messages(State(s): State<Sidecar>, Query(q): Query<MessagesQuery>) -> Response {
    let limit = q.limit.unwrap_or(100);
    let mut messages: Vec<_> = s
        .shared
        .broker
        .published()
        .into_iter()
        .filter(|m| q.topic.as_ref().is_none_or(|t| &m.topic == t))
        .collect();
    let skip = messages.len().saturating_sub(limit);
    messages.drain(..skip);
    axum::Json(messages).into_response()
}
