//! The trash: a deleted task stays restorable for [`TRASH_RETENTION`]. Deleting moves the row
//! out of `tasks` into `trashed_tasks` (as its JSON snapshot) in the transaction that publishes
//! `task-deleted`; restoring moves it back and publishes `task-updated` with the pseudo-field
//! `deleted` going from `true` to `false`, so every consumer handles a restore as the update it
//! is (websocket shows the task again, audit records it, the reminder loop sees the task back).
//! Entries past the retention are gone for good: hidden at once, removed by the hourly purge.

use chrono::{DateTime, Duration, Utc};
use common::error::ApiError;
use common::events::{Changes, EventType, FieldChange};
use common::tasks::Task;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::write::{Caller, emit};

/// How long a deleted task can be restored.
pub const TRASH_RETENTION: Duration = Duration::days(30);

/// The most entries one page of the trash holds.
pub const MAX_PAGE: i64 = 200;

/// A deleted task in the trash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrashedTask {
    /// The task as it was when deleted (its `version` is the deletion's).
    pub task: Task,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
    /// When it leaves the trash for good.
    pub purge_at: DateTime<Utc>,
}

/// One page of the trash, most recently deleted first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrashPage {
    /// The entries of this page.
    pub items: Vec<TrashedTask>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Position {
    deleted_at: DateTime<Utc>,
    id: Uuid,
}

/// `now() - retention` in SQL, as seconds.
fn retention_seconds() -> f64 {
    // 30 days in seconds is exact in an f64.
    TRASH_RETENTION.num_seconds() as f64
}

/// Puts a just-deleted task (with the deletion's version) into its owner's trash.
pub async fn put(conn: &mut PgConnection, deleted: &Task) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO trashed_tasks (id, user_id, task) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET task = EXCLUDED.task, deleted_at = now()",
    )
    .bind(deleted.id)
    .bind(&deleted.user_id)
    .bind(Json(deleted))
    .execute(conn)
    .await?;
    Ok(())
}

/// One page of the user's trash.
pub async fn list(
    conn: &mut PgConnection,
    user_id: &str,
    limit: i64,
    cursor: Option<&str>,
) -> Result<TrashPage, ApiError> {
    let after: Option<Position> = cursor.map(common::cursor::decode).transpose()?;
    let rows: Vec<(Json<Task>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT task, deleted_at FROM trashed_tasks \
         WHERE user_id = $1 AND deleted_at > now() - make_interval(secs => $2) \
           AND ($3::timestamptz IS NULL OR (deleted_at, id) < ($3, $4)) \
         ORDER BY deleted_at DESC, id DESC LIMIT $5",
    )
    .bind(user_id)
    .bind(retention_seconds())
    .bind(after.as_ref().map(|p| p.deleted_at))
    .bind(after.as_ref().map(|p| p.id))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    let mut items: Vec<TrashedTask> = rows
        .into_iter()
        .map(|(Json(task), deleted_at)| TrashedTask {
            task,
            deleted_at,
            purge_at: deleted_at + TRASH_RETENTION,
        })
        .collect();
    let next_cursor = common::cursor::next_page(&mut items, limit, |last| {
        common::cursor::encode(&Position {
            deleted_at: last.deleted_at,
            id: last.task.id,
        })
    });
    Ok(TrashPage { items, next_cursor })
}

/// Moves the task back from the trash: the next version, publishing `task-updated`.
pub async fn restore(conn: &mut PgConnection, caller: &Caller, id: Uuid) -> Result<Task, ApiError> {
    let Json(mut task): Json<Task> = sqlx::query_scalar(
        "DELETE FROM trashed_tasks \
         WHERE id = $1 AND user_id = $2 AND deleted_at > now() - make_interval(secs => $3) \
         RETURNING task",
    )
    .bind(id)
    .bind(&caller.user_id)
    .bind(retention_seconds())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(ApiError::NotFound("task in the trash"))?;
    // The snapshot leaves the owner out (`Task` never serialises it); the row was the caller's.
    task.user_id.clone_from(&caller.user_id);
    task.version += 1;
    let restored = common::tasks::reinsert_task(&mut *conn, &task)
        .await
        .map_err(super::service::not_stored)?;
    let changes = Changes::from([(
        "deleted".to_owned(),
        FieldChange {
            before: Value::Bool(true),
            after: Value::Bool(false),
        },
    )]);
    emit(
        &mut *conn,
        EventType::TaskUpdated,
        &restored,
        Some(changes),
        caller,
    )
    .await?;
    Ok(restored)
}

/// Deletes one entry for good (its history stays in the audit trail).
pub async fn remove(conn: &mut PgConnection, user_id: &str, id: Uuid) -> Result<(), ApiError> {
    let removed = sqlx::query("DELETE FROM trashed_tasks WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(ApiError::NotFound("task in the trash"));
    }
    Ok(())
}

/// Empties the user's trash; returns how many entries went.
pub async fn empty(conn: &mut PgConnection, user_id: &str) -> Result<u64, ApiError> {
    Ok(sqlx::query("DELETE FROM trashed_tasks WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Removes every entry past the retention (the hourly purge); returns how many went.
pub async fn purge(pool: &PgPool) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM trashed_tasks WHERE deleted_at <= now() - make_interval(secs => $1)",
    )
    .bind(retention_seconds())
    .execute(pool)
    .await?
    .rows_affected())
}
