//! The series a completed occurrence belongs to, and the `recurrence_links` table (migration
//! `20261126000003_recurring.sql`): one row per completed occurrence that got its successor.
//! Every query filters by the owner, like every task query.

use chrono::{DateTime, Utc};
use common::events::TaskEventData;
use sqlx::PgConnection;
use uuid::Uuid;

/// One completed occurrence and the next occurrence created for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceLink {
    /// The occurrence that was completed.
    pub completed_task_id: Uuid,
    /// The owner.
    pub user_id: String,
    /// The series root (the first occurrence's id).
    pub series_id: Uuid,
    /// The task created as the next occurrence.
    pub next_task_id: Uuid,
    /// When the next occurrence is due.
    pub occurs_at: DateTime<Utc>,
    /// The series start the next occurrence was computed from.
    pub series_start: DateTime<Utc>,
}

/// The series root of `task`: itself for the first occurrence, otherwise its parent.
pub fn series_id(task: &TaskEventData) -> Uuid {
    task.parent_task_id.unwrap_or(task.task_id)
}

/// When an occurrence "is": its due date, or its creation time when it has none.
pub fn occurrence_time(task: &TaskEventData, fallback: DateTime<Utc>) -> DateTime<Utc> {
    task.due_date.or(task.created_at).unwrap_or(fallback)
}

/// The start of `task`'s series: the first occurrence's due date (or creation time). When the
/// first occurrence was deleted, the start recorded with the series' latest link stands in;
/// with neither (a root deleted before any link was made), `task` itself starts the series.
#[tracing::instrument(skip_all, fields(task_id = %task.task_id))]
pub async fn series_start(
    conn: &mut PgConnection,
    user_id: &str,
    task: &TaskEventData,
    fallback: DateTime<Utc>,
) -> sqlx::Result<DateTime<Utc>> {
    let Some(root_id) = task.parent_task_id else {
        return Ok(occurrence_time(task, fallback));
    };
    if let Some(root) = common::tasks::get_task(conn, user_id, root_id).await? {
        return Ok(root.due_date.unwrap_or(root.created_at));
    }
    let recorded: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT series_start FROM recurrence_links WHERE series_id = $1 AND user_id = $2 \
         ORDER BY occurs_at DESC LIMIT 1",
    )
    .bind(root_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(recorded.unwrap_or_else(|| occurrence_time(task, fallback)))
}

/// Occurrences the series has had: its first one plus every next occurrence created so far.
#[tracing::instrument(skip(conn))]
pub async fn occurrences_so_far(
    conn: &mut PgConnection,
    user_id: &str,
    series_id: Uuid,
) -> sqlx::Result<u32> {
    let links: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recurrence_links WHERE series_id = $1 AND user_id = $2",
    )
    .bind(series_id)
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(links).unwrap_or(u32::MAX).saturating_add(1))
}

/// Records `link` in the caller's transaction. Returns `false` when the completed occurrence
/// already has its successor, or the series already has an occurrence at that time: the caller
/// must then create nothing. A concurrent transaction inserting the same key blocks here until
/// it ends, then sees `false`.
#[tracing::instrument(skip_all, fields(completed_task_id = %link.completed_task_id))]
pub async fn link_next_occurrence(
    conn: &mut PgConnection,
    link: &RecurrenceLink,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO recurrence_links \
         (completed_task_id, user_id, series_id, next_task_id, occurs_at, series_start) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(link.completed_task_id)
    .bind(&link.user_id)
    .bind(link.series_id)
    .bind(link.next_task_id)
    .bind(link.occurs_at)
    .bind(link.series_start)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
