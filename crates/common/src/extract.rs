//! Extractors whose rejections are [`ApiError`]s, so that malformed input of any shape gets the
//! JSON error body with a 4xx status instead of axum's plain-text rejections.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

use crate::error::ApiError;

/// `axum::Json` with JSON errors: 400 malformed, 415 wrong content type, 413 too large, 422 wrong
/// shape or type. Every body of this API is a JSON object: an array is refused (422) even where
/// serde would read a struct from a sequence (`[]` once passed as an empty update).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                _ => ApiError::bad_request("unreadable_body", rejection.body_text()),
            })?;
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
            return Err(ApiError::Validation(
                serde_json::json!({ "body": "expected a JSON object" }),
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&body)?;
        Ok(Self(value))
    }
}

/// `application/json` or any `application/*+json`, parameters ignored (as axum's `Json`).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(media_type) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// `axum::extract::Path` with a 400 JSON error (e.g. an id that is not a UUID).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with a 400 JSON error.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => {
                Self::Validation(serde_json::json!({ "body": rejection.body_text() }))
            }
            _ => Self::bad_request("malformed_json", rejection.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request("invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request("invalid_query", rejection.body_text())
    }
}
