//! `POST /api/tasks`, with `Idempotency-Key` replay.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use common::auth::AuthUser;
use common::error::ApiError;
use common::events::EventType;
use common::extract::ApiJson;
use common::tasks::{Task, insert_task};
use sha2::{Digest, Sha256};

use super::input::CreateTaskRequest;
use super::write::{WriteContext, emit, task_response};
use crate::startup::AppState;

const MAX_IDEMPOTENCY_KEY: usize = 255;
/// How long a key is remembered: long enough for any client retry, short enough to bound the table.
pub const IDEMPOTENCY_KEY_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

/// Forgets idempotency keys older than `retention`; returns how many were removed.
pub async fn prune_idempotency_keys(
    pool: &sqlx::PgPool,
    retention: std::time::Duration,
) -> sqlx::Result<u64> {
    let removed = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)",
    )
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(removed)
}

/// Creates a task. With `Idempotency-Key`, a retry of the same request returns the first
/// response and creates nothing; the same key with a different body is refused (422).
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", security(("bearer" = [])),
    request_body = CreateTaskRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = Task, description = "created; Location and ETag set"),
              (status = 400, description = "malformed"), (status = 401, description = "no valid token"),
              (status = 422, description = "invalid field or reused idempotency key")))]
pub async fn create_task(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateTaskRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&request).unwrap_or_default(),
    ));
    let new = request.into_new_task(&user.user_id)?;
    let mut tx = state.pool.begin().await?;
    if let Some(key) = &key {
        // Claims the key; a concurrent request with the same key waits here for our commit and
        // then finds the stored response.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, response_status, response_body) \
             VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING",
        )
        .bind(&user.user_id)
        .bind(key)
        .bind(&request_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            let (stored_hash, body): (String, serde_json::Value) = sqlx::query_as(
                "SELECT request_hash, response_body FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2",
            )
            .bind(&user.user_id)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            if stored_hash != request_hash {
                return Err(ApiError::Validation(serde_json::json!({
                    "idempotency_key": "already used with a different request"
                })));
            }
            let task: Task =
                serde_json::from_value(body).map_err(|e| ApiError::Internal(e.into()))?;
            let mut response = created(&task);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(response);
        }
    }
    let task = insert_task(&mut tx, &new).await?;
    emit(&mut tx, EventType::TaskCreated, &task, None, &context).await?;
    if let Some(key) = &key {
        let stored = serde_json::to_value(&task).map_err(|e| ApiError::Internal(e.into()))?;
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = 201, response_body = $3 WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(&user.user_id)
        .bind(key)
        .bind(stored)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(created(&task))
}

fn created(task: &Task) -> Response {
    let mut response = task_response(StatusCode::CREATED, task);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/tasks/{}", task.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}
