//! The one API error type. Every failure a client can see is one of these variants, rendered as
//! `{"error":{"code":"snake_case","message":"...","details":...}}` with a stable code. Server
//! faults are opaque to the client and logged once, with their cause chain, in the request span.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::AuthError;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be understood (malformed JSON, bad path or query, forged cursor).
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `malformed_json`.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// 422: well-formed but invalid field values; `details` maps field → problem.
    #[error("validation failed")]
    Validation(Value),
    /// 401: no valid bearer token.
    #[error("unauthorized")]
    Unauthorized(#[from] AuthError),
    /// 403: authenticated but not allowed (internal routes without the app token).
    #[error("forbidden")]
    Forbidden,
    /// 404: no such resource for this caller (also: someone else's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 412: `If-Match` named a version that is no longer current.
    #[error("the resource changed: current version is {current}")]
    PreconditionFailed {
        /// The version the resource has now.
        current: i64,
    },
    /// 413: body over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415: not `application/json`.
    #[error("expected content-type application/json")]
    UnsupportedMediaType,
    /// 429: the caller used up a per-user budget; `Retry-After` says when to come back.
    #[error("too many requests: {what}")]
    RateLimited {
        /// What was limited (e.g. `writes`), for the message.
        what: &'static str,
        /// Whole seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// 503: a dependency is down; retrying later can succeed.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 500: a bug or unexpected fault; details are logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 400 with `code` and `message`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 422 for one field.
    pub fn invalid_field(field: &str, problem: impl Into<String>) -> Self {
        Self::Validation(json!({ field: problem.into() }))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::Validation(_) => "validation_failed",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PreconditionFailed { .. } => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if database_unavailable(&error) {
            Self::Unavailable(error.into())
        } else {
            Self::Internal(error.into())
        }
    }
}

/// Whether `error` means the database is out of reach for now (503) rather than a fault of the
/// request or the code (500): pool exhaustion, a lost or refused connection (a connection cut
/// during the TLS or start-up exchange surfaces as a protocol or TLS error), and the server's
/// own "connection exception", "shutting down" and "too many connections" states.
pub fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let details = match &self {
            Self::Validation(details) => details.clone(),
            Self::PreconditionFailed { current } => json!({ "current_version": current }),
            Self::RateLimited {
                retry_after_secs, ..
            } => json!({ "retry_after": retry_after_secs }),
            _ => Value::Null,
        };
        match &self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                tracing::error!(error = ?cause, status = status.as_u16(), "request failed");
            }
            Self::Unauthorized(reason) => tracing::info!(%reason, "token refused"),
            _ => {}
        }
        // Display of server faults is a fixed phrase: causes are logged above, never sent.
        let message = self.to_string();
        let mut body = json!({ "error": { "code": self.code(), "message": message } });
        if !details.is_null() {
            body["error"]["details"] = details;
        }
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited {
            retry_after_secs, ..
        } = &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_or_refused_connection_is_a_503_and_a_code_fault_a_500() {
        let cut = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert_eq!(
            ApiError::from(cut).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let reset = sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert_eq!(
            ApiError::from(reset).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(sqlx::Error::PoolTimedOut).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(sqlx::Error::ColumnNotFound("x".into())).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
