//! The HTTP side of the task write path: the request's context, `If-Match` and the `ETag`.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::error::ApiError;
use common::tasks::Task;

use crate::tasks::{IfMatch, WriteContext};

impl<S: Send + Sync> FromRequestParts<S> for WriteContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Self::from_request(
            header("x-request-id"),
            header("traceparent"),
        ))
    }
}

/// Reads `If-Match` (`"3"`, `W/"3"`, `3` or `*`); an unreadable value is a 400, not a silent
/// unconditional write.
pub fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| ApiError::bad_request("invalid_if_match", "If-Match is not text"))?
        .trim();
    if raw == "*" {
        return Ok(Some(IfMatch::Any));
    }
    let unquoted = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
    unquoted
        .parse::<i64>()
        .map(|v| Some(IfMatch::Version(v)))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_if_match",
                "If-Match must be a task ETag such as \"3\"",
            )
        })
}

/// The task as JSON with its `ETag`.
pub fn task_response(status: StatusCode, task: &Task) -> Response {
    let mut response = (status, Json(task)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", task.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
