//! The effect of one `task-completed` event: the next occurrence, created exactly once.
//!
//! Everything happens in one transaction, in this order: the processed-event record (a
//! redelivered event stops here), the series lookups, the recurrence link (a second event for
//! the same completed occurrence — reopen and complete again — stops here; a concurrent one
//! blocks on the key until the first commits), the new task, and its `task-created` outbox row.
//! Either all of it commits or none of it does.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use common::events::{Actor, EventType, TaskEvent};
use common::idempotency::record_processed;
use common::outbox::OutboxEntry;
use common::recurrence::normalize;
use common::tasks::{NewTask, insert_task};
use sqlx::PgPool;
use uuid::Uuid;

use crate::SERVICE;
use crate::schedule::{Completed, ScheduleError, Series, next_occurrence_off_runtime};
use crate::series::{
    RecurrenceLink, link_next_occurrence, occurrence_time, occurrences_so_far, series_id,
    series_start,
};

/// What handling one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The task does not recur.
    NotRecurring,
    /// This event was handled before.
    AlreadyProcessed,
    /// The completed occurrence already has its next occurrence (or the series already has
    /// one at that time).
    AlreadyLinked,
    /// The series is over: COUNT, UNTIL or its end date reached.
    SeriesEnded,
    /// The completed task was deleted, or stopped recurring, before this event was handled (or
    /// the account was deleted): the user ended the series.
    SeriesStopped,
    /// The next occurrence was created.
    Created {
        /// The new task.
        task_id: Uuid,
        /// Its due date.
        due_date: DateTime<Utc>,
    },
}

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum OccurrenceError {
    /// Postgres failed or refused a write.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The task's rule cannot be expanded.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The task's time zone is not an IANA name.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
}

/// Creates the next occurrence of the completed task in `event`, unless it does not recur, the
/// series is over, or it was created before. `traceparent` travels with the outbox event.
#[tracing::instrument(skip_all, fields(event_id = %event.event_id, task_id = %event.data.task_id))]
pub async fn create_next_occurrence(
    pool: &PgPool,
    event: &TaskEvent,
    traceparent: Option<String>,
) -> Result<Outcome, OccurrenceError> {
    let task = &event.data;
    let Some(rule) = task.recurring_rule.as_deref() else {
        return Ok(Outcome::NotRecurring);
    };
    let timezone: Tz = task
        .timezone
        .parse()
        .map_err(|_| OccurrenceError::TimeZone(task.timezone.clone()))?;
    let user_id = event.user_id.as_str();
    let mut tx = pool.begin().await?;
    if !record_processed(&mut tx, SERVICE, event.event_id).await? {
        return Ok(Outcome::AlreadyProcessed);
    }
    // The task as it is now, not as the event saw it: deleting it or clearing its rule right
    // after completing it ends the series, also when this event is handled later. Read FOR
    // SHARE so such a change waits for this transaction or is seen by it.
    let still_recurring: Option<bool> = sqlx::query_scalar(
        "SELECT recurring_rule IS NOT NULL FROM tasks WHERE id = $1 AND user_id = $2 FOR SHARE",
    )
    .bind(task.task_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    if still_recurring != Some(true) {
        tx.commit().await?;
        return Ok(Outcome::SeriesStopped);
    }
    let series_id = series_id(task);
    let start = series_start(&mut tx, user_id, task, event.timestamp).await?;
    let series = Series {
        rule: normalize(rule),
        mode: task.recurring_mode,
        timezone,
        start,
        end_date: task.recurring_end_date,
        occurrences_so_far: occurrences_so_far(&mut tx, user_id, series_id).await?,
    };
    let completed = Completed {
        due: occurrence_time(task, event.timestamp),
        completed_at: task.completed_at.unwrap_or(event.timestamp),
    };
    let Some(due_date) = next_occurrence_off_runtime(series, completed).await? else {
        tx.commit().await?;
        return Ok(Outcome::SeriesEnded);
    };
    let link = RecurrenceLink {
        completed_task_id: task.task_id,
        user_id: user_id.to_owned(),
        series_id,
        next_task_id: Uuid::now_v7(),
        occurs_at: due_date,
        series_start: start,
    };
    if !link_next_occurrence(&mut tx, &link).await? {
        tx.commit().await?;
        return Ok(Outcome::AlreadyLinked);
    }
    // The reminder keeps its distance from the occurrence (a reminder an hour before stays an
    // hour before). Without a due date the occurrence is the task's creation time, as for the
    // schedule itself, so the offset still carries over.
    let reminder_at = task
        .reminder_at
        .map(|reminder| due_date - (completed.due - reminder));
    let next = NewTask {
        id: link.next_task_id,
        user_id: user_id.to_owned(),
        title: task.title.clone(),
        description: task.description.clone(),
        priority: task.priority,
        tags: task.tags.clone(),
        due_date: Some(due_date),
        reminder_at,
        recurring_rule: task.recurring_rule.clone(),
        recurring_mode: task.recurring_mode,
        recurring_end_date: task.recurring_end_date,
        timezone: task.timezone.clone(),
        parent_task_id: Some(series_id),
    };
    let created = next.into_task(Utc::now());
    let created_event = TaskEvent::new(
        EventType::TaskCreated,
        Actor::Recurring,
        &created,
        None,
        event.correlation_id.clone(),
    );
    let created_event = OutboxEntry::task_event(SERVICE, created_event, traceparent)?;
    match insert_task(&mut tx, &created, &created_event).await {
        Ok(()) => {}
        // The account was deleted meanwhile: nothing of it is created again.
        Err(sqlx::Error::RowNotFound) => {
            tx.rollback().await?;
            return Ok(Outcome::SeriesStopped);
        }
        Err(error) => return Err(error.into()),
    }
    common::outbox::commit(tx).await?;
    metrics::counter!("recurring_occurrences_created_total").increment(1);
    Ok(Outcome::Created {
        task_id: created.id,
        due_date,
    })
}
