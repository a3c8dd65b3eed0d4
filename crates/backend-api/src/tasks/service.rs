//! Actor-aware task operations: the one implementation of every task read and change, called
//! by the REST handlers (actor `user`) and by the assistant's tools (actor `assistant`). Each
//! takes the [`Caller`], whose user id scopes every query, so ownership checks, validation,
//! `If-Match` and the outbox event apply identically whoever asks.
//!
//! Writes take the caller's connection (usually a transaction) and leave committing to it, so a
//! change can share a transaction with other bookkeeping (idempotency keys, confirmations).

use chrono::Utc;
use common::error::ApiError;
use common::events::EventType;
use common::tasks::{Task, TaskStatus, insert_task, lock_task};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::creates::Creates;
use super::input::{CreateTaskRequest, UpdateTaskRequest};
use super::write::{self, Caller, IfMatch, check_if_match, diff, emit};

pub use super::filter::TaskFilter;
pub use super::query::{ListQuery, list};

/// The outcome of [`create`].
#[derive(Debug, Clone)]
pub struct Created {
    /// The task, as first created.
    pub task: Task,
    /// `true` when an idempotency key replayed an earlier creation (nothing new was stored).
    pub replayed: bool,
}

/// Creates a task for the caller. With `idempotency_key`, a retry of the same request returns
/// the first result and creates nothing; the same key with a different request is a 422.
pub async fn create(
    conn: &mut PgConnection,
    caller: &Caller,
    request: CreateTaskRequest,
    idempotency_key: Option<&str>,
) -> Result<Created, ApiError> {
    // Only a keyed request needs its hash (to tell a retry from a different request).
    let request_hash = idempotency_key.map(|_| {
        hex::encode(Sha256::digest(
            serde_json::to_vec(&request).unwrap_or_default(),
        ))
    });
    let new = request.into_new_task(&caller.user_id)?;
    if let (Some(key), Some(request_hash)) = (idempotency_key, request_hash) {
        // Claims the key; a concurrent request with the same key waits here for our commit and
        // then finds the stored response.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, response_status, response_body) \
             VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING",
        )
        .bind(&caller.user_id)
        .bind(key)
        .bind(&request_hash)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if claimed == 0 {
            let (stored_hash, body): (String, serde_json::Value) = sqlx::query_as(
                "SELECT request_hash, response_body FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2",
            )
            .bind(&caller.user_id)
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
            if stored_hash != request_hash {
                return Err(ApiError::Validation(serde_json::json!({
                    "idempotency_key": "already used with a different request"
                })));
            }
            let task: Task =
                serde_json::from_value(body).map_err(|e| ApiError::Internal(e.into()))?;
            return Ok(Created {
                task,
                replayed: true,
            });
        }
    }
    let task = new.into_task(Utc::now());
    let event = write::event(EventType::TaskCreated, &task, None, caller)?;
    insert_task(&mut *conn, &task, &event)
        .await
        .map_err(not_stored)?;
    if let Some(key) = idempotency_key {
        let stored = serde_json::to_value(&task).map_err(|e| ApiError::Internal(e.into()))?;
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = 201, response_body = $3 WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(&caller.user_id)
        .bind(key)
        .bind(stored)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Created {
        task,
        replayed: false,
    })
}

/// Creates a task for the caller without an idempotency key, written together with other
/// creates under way ([`Creates`]): what [`create`] does outside a transaction.
pub async fn create_grouped(
    creates: &Creates,
    caller: &Caller,
    request: CreateTaskRequest,
) -> Result<Task, ApiError> {
    let task = request
        .into_new_task(&caller.user_id)?
        .into_task(Utc::now());
    let event = write::event(EventType::TaskCreated, &task, None, caller)?;
    creates.store(task, event).await.map_err(not_stored)
}

/// The answer to a create (or a restore) the database did not store.
pub(super) fn not_stored(error: sqlx::Error) -> ApiError {
    match error {
        // A token issued before the account was deleted: nothing is created for it.
        sqlx::Error::RowNotFound => common::error::account_deleted(),
        error => error.into(),
    }
}

/// One of the user's tasks; someone else's is "not found", exactly like a missing one.
pub async fn get(conn: &mut PgConnection, user_id: &str, id: Uuid) -> Result<Task, ApiError> {
    common::tasks::get_task(conn, user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))
}

async fn lock(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    condition: Option<IfMatch>,
) -> Result<Task, ApiError> {
    let current = lock_task(conn, &caller.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    check_if_match(condition, &current)?;
    Ok(current)
}

/// Applies a partial update. A patch that changes nothing bumps nothing and publishes nothing.
pub async fn update(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    request: UpdateTaskRequest,
    condition: Option<IfMatch>,
) -> Result<Task, ApiError> {
    let current = lock(&mut *conn, caller, id, condition).await?;
    let wanted = request.apply(&current)?;
    let changes = diff(&current, &wanted);
    if changes.is_empty() {
        return Ok(current);
    }
    let updated = common::tasks::update_task(&mut *conn, &wanted).await?;
    emit(
        &mut *conn,
        EventType::TaskUpdated,
        &updated,
        Some(changes),
        caller,
    )
    .await?;
    Ok(updated)
}

/// Moves a pending task's reminder to `until` (`task-updated`): the reminder fires again then,
/// because a reminder fires once per `(task, reminder_at)`. A completed task has no reminder
/// left to snooze (409).
pub async fn snooze(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    until: impl FnOnce(&Task) -> chrono::DateTime<Utc>,
) -> Result<Task, ApiError> {
    let current = lock(&mut *conn, caller, id, None).await?;
    if current.status != TaskStatus::Pending {
        return Err(ApiError::Conflict {
            code: "not_pending",
            message: "a completed task has no reminder to snooze; reopen it first".to_owned(),
        });
    }
    let request = UpdateTaskRequest {
        reminder_at: Some(Some(until(&current))),
        ..UpdateTaskRequest::default()
    };
    update(conn, caller, id, request, None).await
}

/// Marks the task completed (`task-completed`); a completed task stays as it is, unpublished.
pub async fn complete(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    condition: Option<IfMatch>,
) -> Result<Task, ApiError> {
    transition(conn, caller, id, condition, TaskStatus::Completed).await
}

/// Marks the task pending again (`task-updated`); a pending task stays as it is, unpublished.
pub async fn reopen(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    condition: Option<IfMatch>,
) -> Result<Task, ApiError> {
    transition(conn, caller, id, condition, TaskStatus::Pending).await
}

async fn transition(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    condition: Option<IfMatch>,
    to: TaskStatus,
) -> Result<Task, ApiError> {
    let current = lock(&mut *conn, caller, id, condition).await?;
    if current.status == to {
        return Ok(current);
    }
    let mut wanted = current.clone();
    wanted.status = to;
    wanted.completed_at = (to == TaskStatus::Completed).then(Utc::now);
    let updated = common::tasks::update_task(&mut *conn, &wanted).await?;
    let (event_type, changes) = match to {
        TaskStatus::Completed => (EventType::TaskCompleted, None),
        TaskStatus::Pending => (EventType::TaskUpdated, Some(diff(&current, &updated))),
    };
    emit(&mut *conn, event_type, &updated, changes, caller).await?;
    Ok(updated)
}

/// Deletes the task into the trash (restorable for [`super::trash::TRASH_RETENTION`]) and returns
/// its last state (with the version the deletion event carries).
pub async fn delete(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    condition: Option<IfMatch>,
) -> Result<Task, ApiError> {
    lock(&mut *conn, caller, id, condition).await?;
    let mut deleted = common::tasks::delete_task(&mut *conn, &caller.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("task"))?;
    // The deletion is the newest state of the task: a client ordering pushes by version must
    // not let an older update resurrect it.
    deleted.version += 1;
    super::trash::put(&mut *conn, &deleted).await?;
    emit(&mut *conn, EventType::TaskDeleted, &deleted, None, caller).await?;
    Ok(deleted)
}
