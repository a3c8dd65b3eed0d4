//! `/v1.0/state/...` handlers with Dapr's status codes (docs/dapr-behaviour.md §4.1–4.4).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::server::{Sidecar, api_error};
use crate::state::{SaveItem, StateError, StateStore};

pub fn router() -> Router<Sidecar> {
    Router::new()
        .route("/v1.0/state/{store}", post(save).put(save))
        .route("/v1.0/state/{store}/{key}", get(get_state).delete(delete))
}

/// An API error not yet rendered, small enough to travel in a `Result`.
struct Rejection(StatusCode, &'static str, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        api_error(self.0, self.1, self.2)
    }
}

fn store<'a>(s: &'a Sidecar, name: &str) -> Result<&'a StateStore, Rejection> {
    if s.app.state_stores.is_empty() {
        return Err(Rejection(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_STATE_STORE_NOT_CONFIGURED",
            "state store is not configured".into(),
        ));
    }
    s.app.state_stores.get(name).ok_or_else(|| {
        Rejection(
            StatusCode::BAD_REQUEST,
            "ERR_STATE_STORE_NOT_FOUND",
            format!("state store {name} is not found"),
        )
    })
}

async fn get_state(
    State(s): State<Sidecar>,
    Path((name, key)): Path<(String, String)>,
) -> Response {
    let store = match store(&s, &name) {
        Ok(store) => store,
        Err(rejection) => return rejection.into_response(),
    };
    match store.get(&key).await {
        Ok(Some((data, etag))) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::ETAG, etag),
            ],
            data,
        )
            .into_response(),
        Ok(None) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ERR_STATE_GET",
            format!("fail to get {key} from state store {name}: {e}"),
        ),
    }
}

#[derive(Deserialize)]
struct SaveRequest {
    key: Option<String>,
    #[serde(default)]
    value: Value,
    etag: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
    #[serde(default)]
    options: SaveOptions,
}

#[derive(Deserialize, Default)]
struct SaveOptions {
    concurrency: Option<String>,
}

fn malformed(message: impl Into<String>) -> Response {
    api_error(StatusCode::BAD_REQUEST, "ERR_MALFORMED_REQUEST", message)
}

async fn save(
    State(s): State<Sidecar>,
    Path(name): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let store = match store(&s, &name) {
        Ok(store) => store,
        Err(rejection) => return rejection.into_response(),
    };
    let requests: Vec<SaveRequest> = match serde_json::from_slice(&body) {
        Ok(requests) => requests,
        Err(e) => return malformed(format!("failed deserializing HTTP body: {e}")),
    };
    let query_ttl = query
        .iter()
        .find(|(k, _)| k == "metadata.ttlInSeconds")
        .map(|(_, v)| v.clone());
    let mut items = Vec::with_capacity(requests.len());
    for request in requests {
        let Some(key) = request.key.filter(|k| !k.is_empty()) else {
            return malformed("key is required");
        };
        if key.contains("||") {
            return malformed(format!("input key/keyPrefix '{key}' can't contain '||'"));
        }
        let ttl = match request.metadata.get("ttlInSeconds") {
            Some(Value::String(v)) => Some(v.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => query_ttl.clone(),
        };
        let ttl_seconds = match ttl.map(|t| t.parse::<i64>()) {
            None => None,
            Some(Ok(seconds)) => Some(seconds),
            Some(Err(e)) => {
                return api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ERR_STATE_SAVE",
                    format!("failed saving state in state store {name}: invalid ttlInSeconds: {e}"),
                );
            }
        };
        items.push(SaveItem {
            key,
            data: request.value.to_string(),
            etag: request.etag,
            first_write: request.options.concurrency.as_deref() == Some("first-write"),
            ttl_seconds,
        });
    }
    for item in items {
        if let Err(e) = store.save(item).await {
            return write_error(
                e,
                "ERR_STATE_SAVE",
                &format!("failed saving state in state store {name}"),
            );
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn delete(
    State(s): State<Sidecar>,
    Path((name, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let store = match store(&s, &name) {
        Ok(store) => store,
        Err(rejection) => return rejection.into_response(),
    };
    let etag = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    match store.delete(&key, etag).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => write_error(
            e,
            "ERR_STATE_DELETE",
            &format!("failed deleting state with key {key}"),
        ),
    }
}

/// Dapr's `etagError`: mismatch → 409, malformed → 400, anything else → 500.
fn write_error(error: StateError, code: &str, context: &str) -> Response {
    let status = match error {
        StateError::EtagMismatch(_) => StatusCode::CONFLICT,
        StateError::EtagInvalid(_) => StatusCode::BAD_REQUEST,
        StateError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    api_error(status, code, format!("{context}: {error}"))
}
