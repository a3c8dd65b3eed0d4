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
    /// 401: no valid bearer token (an [`AuthError`] other than
    /// [`AuthError::AccountsUnknown`], which is a 503: see the `From` impl).
    #[error("unauthorized")]
    Unauthorized(AuthError),
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
    /// An answer with its own status and code that the variants above do not name: a feature
    /// that is off (503), something gone (410), another kind of precondition (412), a budget
    /// with details (429), a bearer challenge with parameters (401). See [`Refusal`].
    #[error("{}", .0.message)]
    Refused(Box<Refusal>),
    /// 503: a dependency is down; retrying later can succeed.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 500: a bug or unexpected fault; details are logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The parts of an [`ApiError::Refused`] answer; build one with [`Refusal::new`] and turn it
/// into an `ApiError` with `.into()`.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `error.details` of the body (omitted when null).
    pub details: Value,
    /// The `Retry-After` header, in seconds.
    pub retry_after_secs: Option<u64>,
    /// The `WWW-Authenticate` header of a 401 (default `Bearer`).
    pub challenge: Option<String>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after_secs: None,
            challenge: None,
        }
    }

    #[must_use]
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    #[must_use]
    pub fn challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenge = Some(challenge.into());
        self
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(Box::new(refusal))
    }
}

/// The body of every error answer, `{"error":{"code":…,"message":…[,"details":…]}}`; also the
/// payload of error events on a stream (the assistant's answers).
pub fn error_body(code: &str, message: &str, details: Value) -> Value {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if !details.is_null() {
        body["error"]["details"] = details;
    }
    body
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            // The token may be good: refusing it with a 401 would sign the user out.
            AuthError::AccountsUnknown => Self::Unavailable(error.into()),
            other => Self::Unauthorized(other),
        }
    }
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
            Self::Refused(refusal) => refusal.status,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::Refused(refusal) => refusal.code,
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
    /// A database that is away is 503. A row refused because its account was erased is 410. A
    /// constraint the request ran into, where the code did not handle it itself, is 409
    /// (`already_exists` for a unique key, `conflict` for a row that another refers to or that
    /// is gone); anything else is a fault, 500.
    fn from(error: sqlx::Error) -> Self {
        if database_unavailable(&error) {
            return Self::Unavailable(error.into());
        }
        if let sqlx::Error::Database(db) = &error {
            if db.code().as_deref() == Some(ACCOUNT_ERASED) {
                return account_deleted();
            }
            if db.is_unique_violation() {
                return Self::Conflict {
                    code: "already_exists",
                    message: "it exists already".to_owned(),
                };
            }
            if db.is_foreign_key_violation() {
                return Self::Conflict {
                    code: "conflict",
                    message: "it refers to something that is gone, or is referred to".to_owned(),
                };
            }
        }
        Self::Internal(error.into())
    }
}

/// The SQLSTATE with which the database refuses a row for an erased account
/// (migrations/20261205000022_erased_accounts_get_no_rows.sql): a 410 [`account_deleted`].
pub const ACCOUNT_ERASED: &str = "TF410";

/// 410 `account_deleted`: a write for an account erased after the request's token was checked
/// (its insert checks `erased_users` in the same statement, or the table's trigger does,
/// [`ACCOUNT_ERASED`]).
pub fn account_deleted() -> ApiError {
    ApiError::from(Refusal::new(
        StatusCode::GONE,
        "account_deleted",
        "this account was deleted",
    ))
}

/// Whether `error` means the database is out of reach for now (503) rather than a fault of the
/// request or the code (500): pool exhaustion, a lost or refused connection (a connection cut
/// during the TLS or start-up exchange surfaces as a protocol or TLS error), the server's own
/// "connection exception", "shutting down" and "too many connections" states, a lock that
/// stayed taken past the statement's `lock_timeout` (55P03: busy now, worth trying again), and a
/// transaction Postgres ended to break a deadlock or a serialization conflict (40P01, 40001:
/// nothing of it was written, and trying again is what Postgres asks for).
pub fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("57P")
                || ["53300", "55P03", "40P01", "40001"].contains(&code.as_ref())
        }),
        _ => false,
    }
}

impl ApiError {
    /// `{"error":{"code","message","details"}}`: how every answer renders this error, and how
    /// the assistant's tools tell the model of a failure. The message of a server fault is a
    /// fixed phrase (its Display); causes are logged, never sent.
    pub fn body(&self) -> Value {
        let details = match self {
            Self::Validation(details) => details.clone(),
            Self::PreconditionFailed { current } => json!({ "current_version": current }),
            Self::RateLimited {
                retry_after_secs, ..
            } => json!({ "retry_after": retry_after_secs }),
            Self::Refused(refusal) => refusal.details.clone(),
            _ => Value::Null,
        };
        error_body(self.code(), &self.to_string(), details)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                tracing::error!(error = ?cause, status = status.as_u16(), "request failed");
            }
            Self::Unauthorized(reason) => tracing::info!(%reason, "token refused"),
            _ => {}
        }
        let mut response = (status, Json(self.body())).into_response();
        let retry_after = match &self {
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::Refused(refusal) => refusal.retry_after_secs,
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match &self {
                Self::Refused(refusal) => refusal.challenge.as_deref(),
                _ => None,
            };
            let value = challenge
                .and_then(|c| axum::http::HeaderValue::from_str(c).ok())
                .unwrap_or(axum::http::HeaderValue::from_static("Bearer"));
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, value);
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
