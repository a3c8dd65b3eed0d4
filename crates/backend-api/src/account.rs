//! Account deletion: `DELETE /api/account` erases everything backend-api keeps of the caller and
//! publishes `user-deleted`, on which every other service erases its own (audit keeps a
//! tombstone in place of the user's chain, notification and recurring delete their rows, the
//! websocket service ends the user's connections).
//!
//! The UI calls this after checking the user's password, then deletes the Better Auth account
//! (which signs out every device). The erasure and the event are one transaction: the event
//! is published if and only if the data is gone. The user joins `erased_users`, so nothing is
//! created for them afterwards (a token issued before the deletion, a late `task-completed` of
//! a recurring task; the database refuses a view, agent token, calendar feed or conversation
//! for them too, `common::error::ACCOUNT_ERASED`). A task insert already under way when the
//! deletion began is waited for and erased with the rest ([`erase`]); a row of another table
//! whose insert checked just before the deletion committed is removed by [`sweep_erased`],
//! which the prune loop runs.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::delete;
use common::auth::AuthUser;
use common::error::ApiError;
use common::events::UserDeleted;
use sqlx::PgConnection;

use crate::startup::{AppState, SERVICE};
use crate::tasks::WriteContext;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/account", delete(delete_account))
}

/// Tables of backend-api that hold a user's rows, by `user_id`, but for `tasks` (the assistant's
/// items, confirmations and confirmation tasks go with their threads: `ON DELETE CASCADE`).
const USER_TABLES: [&str; 8] = [
    "trashed_tasks",
    "saved_views",
    "agent_tokens",
    "calendar_feeds",
    "idempotency_keys",
    "assistant_confirmations",
    "assistant_threads",
    "assistant_usage",
];

/// Tables a transaction writing `tasks` adds a row of the user to (a move to the trash, a create
/// with an idempotency key, whose answer holds the task): one under way when the erasure began
/// adds it after the first pass, so they are cleared again once it is over.
const WRITTEN_WITH_TASKS: [&str; 2] = ["trashed_tasks", "idempotency_keys"];

/// How long an erasure waits for the task writes under way once it has deleted the account's
/// tasks ([`TASKS_LOCK_SQL`]), and at most for any lock after it. Every other task write waits
/// behind it meanwhile, so it is short; past it the erasure is undone and answers 503, to be
/// tried again.
const TASKS_LOCK_TIMEOUT: &str = "2s";

/// Waits for every transaction that writes `tasks` or locks a row of it to end, and holds off
/// new ones until this one ends; plain reads go on. Self-exclusive, so two erasures take turns.
const TASKS_LOCK_SQL: &str = "LOCK TABLE tasks IN EXCLUSIVE MODE";

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The user's rows were deleted and `user-deleted` was queued, with this many tasks.
    Erased { tasks: u64 },
    /// The account had been deleted before: nothing to do, no second event.
    AlreadyErased,
}

/// Deletes the caller's account data in every service: their tasks (also in the trash), saved
/// views, agent tokens, calendar feed, assistant conversations and idempotency records here,
/// and through the `user-deleted` event their notifications, recurrence links and audit trail
/// (replaced by a tombstone) elsewhere. Their events not yet published are dropped. Repeating
/// the call changes nothing. Tokens issued earlier are refused from the commit on, by every
/// service that authenticates users ([`common::erased`]); a request that passed its check
/// before can create no task, view, agent token, calendar feed or conversation (410), and a row
/// whose insert checked in the last instant before the erasure committed is swept within the
/// hour.
#[utoipa::path(delete, path = "/api/account", tag = "account", security(("bearer" = [])),
    responses((status = 204, description = "the account's data is erased (or was before)"),
              (status = 401, description = "no valid token"),
              (status = 503, description = "task writes under way kept it waiting (or the database \
                                            is away): nothing was erased, try again")))]
pub async fn delete_account(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
) -> Result<StatusCode, ApiError> {
    let mut tx = state.pool.begin().await?;
    let outcome = erase(&mut tx, &user.user_id, context).await?;
    common::outbox::commit(tx).await?;
    // Every replica hears of it from the database; this one's next request must not wait for that.
    state.erased.insert(&user.user_id);
    match outcome {
        Erasure::Erased { tasks } => {
            tracing::info!(user_id = %user.user_id, tasks, "account erased; user-deleted queued");
        }
        Erasure::AlreadyErased => {
            tracing::info!(user_id = %user.user_id, "account was erased before");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Erases `user_id`'s rows and queues `user-deleted`, in the caller's transaction.
pub async fn erase(
    conn: &mut PgConnection,
    user_id: &str,
    context: WriteContext,
) -> sqlx::Result<Erasure> {
    // One erasure per user at a time; the second finds the first's row and stops.
    let first: Option<(i32,)> = sqlx::query_as(
        "WITH erased AS (INSERT INTO erased_users (user_id) VALUES ($1) \
         ON CONFLICT DO NOTHING RETURNING 1) SELECT 1 FROM erased",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    if first.is_none() {
        return Ok(Erasure::AlreadyErased);
    }
    let tasks = delete_rows(conn, user_id).await?;
    // Events about the user not yet published would reach consumers after they erased the
    // user: they go too.
    sqlx::query("DELETE FROM outbox WHERE partition_key = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let event = UserDeleted::new(user_id, context.correlation_id);
    common::outbox::enqueue_user_deleted(conn, SERVICE, event, Some(context.traceparent)).await?;
    Ok(Erasure::Erased { tasks })
}

/// Deletes `user_id`'s rows from every table of [`USER_TABLES`] and `tasks`; answers how many
/// tasks went.
///
/// A task insert (a create, a restore, a recurrence's next task) checks `erased_users` with a
/// snapshot taken when its statement starts. One that started before this transaction commits
/// does not see this erasure and stores its task and event anyway; if its commit came after
/// the deletes, they would outlive the account, the event after `user-deleted`. So before the
/// last pass over the tasks this takes [`TASKS_LOCK_SQL`]: every such insert holds a lock on
/// `tasks` from before its snapshot to its commit, so those under way are committed (and
/// deleted here) and later ones wait for this commit, then see `erased_users` and store nothing.
///
/// Every other user's task writes wait while the lock is held, so the user's tasks are deleted
/// before it is asked for: held, it covers only the rows written since, a few at most, however
/// many tasks the account had. That first pass waits, row by row, for the edits under way on
/// them (an update, a completion, recurring reading a completed task lock their row first).
///
/// The lock also waits for the transactions that locked task rows (`FOR UPDATE`, `FOR SHARE`)
/// and will write `tasks` next: were they let on, they would wait for this transaction while it
/// waited for their rows. The other tables go first, so that while it waits this transaction
/// holds no row a task writer could be waiting for (a restore holds its trash row, then writes
/// `tasks`), but for the user's own deleted tasks: an edit of one of them that began after the
/// first pass waits for this transaction while it waits for that edit, and Postgres ends one of
/// the two (40P01, a 503 to be tried again; the account is going anyway). The tables that task
/// writers under way add rows to ([`WRITTEN_WITH_TASKS`]) are cleared again after the lock.
async fn delete_rows(conn: &mut PgConnection, user_id: &str) -> sqlx::Result<u64> {
    let delete = |table: &str| format!("DELETE FROM {table} WHERE user_id = $1");
    for table in USER_TABLES {
        sqlx::query(&delete(table))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    let mut tasks = sqlx::query(&delete("tasks"))
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query(&format!("SET LOCAL lock_timeout = '{TASKS_LOCK_TIMEOUT}'"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(TASKS_LOCK_SQL).execute(&mut *conn).await?;
    for table in WRITTEN_WITH_TASKS {
        sqlx::query(&delete(table))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    tasks += sqlx::query(&delete("tasks"))
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(tasks)
}

/// Removes rows of erased users that a write racing their erasure committed after it (a saved
/// view or an agent token whose insert checked `erased_users` just before the erasure
/// committed; tasks are waited for by the erasure itself, [`delete_rows`]). Answers how many
/// rows.
pub async fn sweep_erased(pool: &sqlx::PgPool) -> sqlx::Result<u64> {
    let mut removed = 0;
    for table in USER_TABLES.into_iter().chain(["tasks"]) {
        removed += sqlx::query(&format!(
            "DELETE FROM {table} t USING erased_users e WHERE t.user_id = e.user_id"
        ))
        .execute(pool)
        .await?
        .rows_affected();
    }
    Ok(removed)
}
