//! `POST /api/tasks`, with `Idempotency-Key` replay.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use common::error::ApiError;
use common::extract::ApiJson;
use common::limits::Limited;
use common::tasks::Task;

use super::http::task_response;
use crate::limits::Writes;
use crate::startup::AppState;
use crate::tasks::service::Created;
use crate::tasks::{Caller, CreateTaskRequest, WriteContext, service};

const MAX_IDEMPOTENCY_KEY: usize = 255;
/// Creates a task. With `Idempotency-Key`, a retry of the same request returns the first
/// response and creates nothing; the same key with a different body is refused (422).
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", security(("bearer" = [])),
    request_body = CreateTaskRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = Task, description = "created; Location and ETag set"),
              (status = 400, description = "malformed"), (status = 401, description = "no valid token"),
              (status = 410, description = "the account was deleted (a token issued before)"),
              (status = 422, description = "invalid field or reused idempotency key")))]
pub async fn create_task(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    context: WriteContext,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateTaskRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let caller = Caller::user(user.user_id, context);
    let created = match key {
        // The task and its event are one statement, which commits on its own: no transaction
        // (one round trip to the database instead of four), shared with the creates under way.
        None => Created {
            task: service::create_grouped(&state.creates, &caller, request).await?,
            replayed: false,
        },
        // The key's claim and its stored response share the task's transaction.
        Some(key) => {
            let mut tx = state.pool.begin().await?;
            let created = service::create(&mut tx, &caller, request, Some(&key)).await?;
            common::outbox::commit(tx).await?;
            created
        }
    };
    let mut response = created_response(&created.task);
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn created_response(task: &Task) -> Response {
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
