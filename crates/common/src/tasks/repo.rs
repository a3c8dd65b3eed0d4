use chrono::{SubsecRound, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use super::Task;
use crate::outbox::OutboxEntry;

/// Every column of `tasks`, in [`Task`]'s order (for readers that select tasks their own way).
pub const TASK_COLUMNS: &str = "id, user_id, title, description, status, priority, tags, due_date, \
     reminder_at, recurring_rule, recurring_mode, recurring_end_date, timezone, parent_task_id, \
     created_at, updated_at, completed_at, version";

/// Binds every column of `task` as `$1`–`$18`, in [`TASK_COLUMNS`]' order.
fn bind_columns<'q>(
    query: Query<'q, Postgres, PgArguments>,
    task: &'q Task,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(task.id)
        .bind(&task.user_id)
        .bind(&task.title)
        .bind(&task.description)
        .bind(task.status)
        .bind(task.priority)
        .bind(&task.tags)
        .bind(task.due_date)
        .bind(task.reminder_at)
        .bind(&task.recurring_rule)
        .bind(task.recurring_mode)
        .bind(task.recurring_end_date)
        .bind(&task.timezone)
        .bind(task.parent_task_id)
        .bind(task.created_at)
        .bind(task.updated_at)
        .bind(task.completed_at)
        .bind(task.version)
}

/// The placeholders [`bind_columns`] fills.
const TASK_VALUES: &str =
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18";

/// Stores a new task (built with [`NewTask::into_task`]) and its event in one statement: one
/// round trip, and outside a transaction no `BEGIN`/`COMMIT` either, while the task and its
/// event still commit or vanish together (one statement is atomic). A user whose account was
/// deleted (`erased_users`) gets neither: the insert finds nothing to insert and this answers
/// [`sqlx::Error::RowNotFound`].
///
/// [`NewTask::into_task`]: super::NewTask::into_task
#[tracing::instrument(skip_all, fields(task_id = %task.id))]
pub async fn insert_task(
    conn: &mut PgConnection,
    task: &Task,
    event: &OutboxEntry,
) -> sqlx::Result<()> {
    let sql = format!(
        "WITH task AS ( \
           INSERT INTO tasks ({TASK_COLUMNS}) SELECT {TASK_VALUES} \
           WHERE NOT EXISTS (SELECT 1 FROM erased_users WHERE user_id = $2) RETURNING user_id) \
         INSERT INTO outbox (event_id, pubsub, topic, partition_key, envelope) \
         SELECT $19, $20, $21, $22, $23 FROM task"
    );
    let inserted = bind_columns(sqlx::query(&sql), task)
        .bind(event.event_id)
        .bind(event.pubsub)
        .bind(event.topic)
        .bind(&event.partition_key)
        .bind(&event.envelope)
        .execute(conn)
        .await?
        .rows_affected();
    if inserted == 0 {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

/// Stores new tasks (built with [`NewTask::into_task`]) and their events, in one statement:
/// [`insert_task`] for many at once. Concurrent creates written together cost the database one
/// statement and one commit instead of one each, which is most of a lone create's cost there
/// (measured in docs/benchmarks.md, "twelfth pass"). Like one row, the statement is atomic:
/// every task and event in it commits, or none does. A task whose user's account was deleted
/// (`erased_users`) is skipped with its event; the answer is the event ids stored.
///
/// The events enter the outbox in the order given, so two tasks of one user are published in
/// the order they came.
///
/// [`NewTask::into_task`]: super::NewTask::into_task
#[tracing::instrument(skip_all, fields(tasks = rows.len()))]
pub async fn insert_tasks(
    conn: &mut PgConnection,
    rows: &[(&Task, &OutboxEntry)],
) -> sqlx::Result<Vec<Uuid>> {
    /// Every column of `tasks` and of the outbox row, one array each, in `$n` order; tags
    /// travel as one JSON array per task (a Postgres array cannot hold arrays of different
    /// lengths).
    const SQL: &str = "WITH input AS ( \
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::jsonb[], $8::timestamptz[], $9::timestamptz[], $10::text[], \
             $11::text[], $12::timestamptz[], $13::text[], $14::uuid[], $15::timestamptz[], \
             $16::timestamptz[], $17::timestamptz[], $18::int8[], \
             $19::uuid[], $20::text[], $21::text[], $22::text[], $23::jsonb[]) WITH ORDINALITY \
           AS i(id, user_id, title, description, status, priority, tags, due_date, reminder_at, \
             recurring_rule, recurring_mode, recurring_end_date, timezone, parent_task_id, \
             created_at, updated_at, completed_at, version, \
             event_id, pubsub, topic, partition_key, envelope, n)), \
         task AS ( \
           INSERT INTO tasks (id, user_id, title, description, status, priority, tags, due_date, \
             reminder_at, recurring_rule, recurring_mode, recurring_end_date, timezone, \
             parent_task_id, created_at, updated_at, completed_at, version) \
           SELECT id, user_id, title, description, status, priority, \
             ARRAY(SELECT jsonb_array_elements_text(tags)), due_date, reminder_at, \
             recurring_rule, recurring_mode, recurring_end_date, timezone, parent_task_id, \
             created_at, updated_at, completed_at, version \
           FROM input \
           WHERE NOT EXISTS (SELECT 1 FROM erased_users e WHERE e.user_id = input.user_id) \
           RETURNING id) \
         INSERT INTO outbox (event_id, pubsub, topic, partition_key, envelope) \
         SELECT input.event_id, input.pubsub, input.topic, input.partition_key, input.envelope \
         FROM input JOIN task USING (id) ORDER BY input.n \
         RETURNING event_id";
    let tasks = rows.iter().map(|(task, _)| *task);
    let events = rows.iter().map(|(_, event)| *event);
    sqlx::query_scalar(SQL)
        .bind(tasks.clone().map(|t| t.id).collect::<Vec<_>>())
        .bind(
            tasks
                .clone()
                .map(|t| t.user_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(tasks.clone().map(|t| t.title.as_str()).collect::<Vec<_>>())
        .bind(
            tasks
                .clone()
                .map(|t| t.description.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(tasks.clone().map(|t| t.status.as_str()).collect::<Vec<_>>())
        .bind(
            tasks
                .clone()
                .map(|t| t.priority.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(tasks.clone().map(|t| Json(&t.tags)).collect::<Vec<_>>())
        .bind(tasks.clone().map(|t| t.due_date).collect::<Vec<_>>())
        .bind(tasks.clone().map(|t| t.reminder_at).collect::<Vec<_>>())
        .bind(
            tasks
                .clone()
                .map(|t| t.recurring_rule.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            tasks
                .clone()
                .map(|t| t.recurring_mode.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            tasks
                .clone()
                .map(|t| t.recurring_end_date)
                .collect::<Vec<_>>(),
        )
        .bind(
            tasks
                .clone()
                .map(|t| t.timezone.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(tasks.clone().map(|t| t.parent_task_id).collect::<Vec<_>>())
        .bind(tasks.clone().map(|t| t.created_at).collect::<Vec<_>>())
        .bind(tasks.clone().map(|t| t.updated_at).collect::<Vec<_>>())
        .bind(tasks.clone().map(|t| t.completed_at).collect::<Vec<_>>())
        .bind(tasks.map(|t| t.version).collect::<Vec<_>>())
        .bind(events.clone().map(|e| e.event_id).collect::<Vec<_>>())
        .bind(events.clone().map(|e| e.pubsub).collect::<Vec<_>>())
        .bind(events.clone().map(|e| e.topic).collect::<Vec<_>>())
        .bind(
            events
                .clone()
                .map(|e| e.partition_key.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(events.map(|e| &e.envelope).collect::<Vec<_>>())
        .fetch_all(conn)
        .await
}

/// Puts a task back as it is given (a restore from the trash): every column as in `task`, but
/// `updated_at` now. Fails with a unique violation if a task with its id exists, and, like
/// [`insert_task`], with [`sqlx::Error::RowNotFound`] if the user's account was deleted.
#[tracing::instrument(skip_all, fields(task_id = %task.id))]
pub async fn reinsert_task(conn: &mut PgConnection, task: &Task) -> sqlx::Result<Task> {
    let task = Task {
        updated_at: Utc::now().trunc_subsecs(6),
        ..task.clone()
    };
    let sql = format!(
        "INSERT INTO tasks ({TASK_COLUMNS}) SELECT {TASK_VALUES} \
         WHERE NOT EXISTS (SELECT 1 FROM erased_users WHERE user_id = $2)"
    );
    let inserted = bind_columns(sqlx::query(&sql), &task)
        .execute(conn)
        .await?
        .rows_affected();
    if inserted == 0 {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(task)
}

/// The caller's task, or `None` if it does not exist or belongs to someone else.
#[tracing::instrument(skip_all, fields(task_id = %id))]
pub async fn get_task(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2");
    sqlx::query_as::<_, Task>(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Those of `ids` that are the caller's tasks, in no particular order.
pub async fn get_tasks(
    conn: &mut PgConnection,
    user_id: &str,
    ids: &[Uuid],
) -> sqlx::Result<Vec<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND id = ANY($2)");
    sqlx::query_as::<_, Task>(&sql)
        .bind(user_id)
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// Like [`get_task`], but locks the row until the transaction ends, so that a read-modify-write
/// (update, complete, reopen) cannot interleave with another one on the same task.
#[tracing::instrument(skip_all, fields(task_id = %id))]
pub async fn lock_task(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2 FOR UPDATE");
    sqlx::query_as::<_, Task>(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Writes every mutable field of `task`, bumps its version and `updated_at`, and returns the
/// stored row. The caller holds the row lock from [`lock_task`].
#[tracing::instrument(skip_all, fields(task_id = %task.id))]
pub async fn update_task(conn: &mut PgConnection, task: &Task) -> sqlx::Result<Task> {
    let sql = format!(
        "UPDATE tasks SET title = $3, description = $4, status = $5, priority = $6, tags = $7, \
         due_date = $8, reminder_at = $9, recurring_rule = $10, recurring_mode = $11, \
         recurring_end_date = $12, timezone = $13, completed_at = $14, \
         version = version + 1, updated_at = greatest(now(), updated_at) \
         WHERE id = $1 AND user_id = $2 RETURNING {TASK_COLUMNS}"
    );
    sqlx::query_as::<_, Task>(&sql)
        .bind(task.id)
        .bind(&task.user_id)
        .bind(&task.title)
        .bind(&task.description)
        .bind(task.status)
        .bind(task.priority)
        .bind(&task.tags)
        .bind(task.due_date)
        .bind(task.reminder_at)
        .bind(&task.recurring_rule)
        .bind(task.recurring_mode)
        .bind(task.recurring_end_date)
        .bind(&task.timezone)
        .bind(task.completed_at)
        .fetch_one(conn)
        .await
}

/// Deletes the caller's task and returns its last state, or `None` if there was none.
#[tracing::instrument(skip_all, fields(task_id = %id))]
pub async fn delete_task(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
) -> sqlx::Result<Option<Task>> {
    let sql = format!("DELETE FROM tasks WHERE id = $1 AND user_id = $2 RETURNING {TASK_COLUMNS}");
    sqlx::query_as::<_, Task>(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}
