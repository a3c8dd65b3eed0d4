//! Claiming due reminders, exactly once across replicas.
//!
//! One transaction inserts a notification for every due reminder and writes one outbox
//! `reminder-due` event per inserted row, so a reminder either fired completely (row + event)
//! or not at all: a crash mid-way fires nothing twice and loses nothing. Several replicas (and
//! the cron tick on each of them) may claim at the same moment:
//!
//! * the primary key `(task_id, reminder_at)` of `fired_reminders` is the guarantee: a second
//!   claimer's insert of the same pair waits for the first to commit and then does nothing, so
//!   only the transaction that recorded the firing creates the notification and writes its
//!   event. The record is kept apart from the notification, so a user deleting the
//!   notification does not make the reminder fire again;
//! * a transaction-scoped advisory lock serializes claimers, so they never interleave their
//!   row locks (no deadlocks) and a waiting claimer finds the work already done;
//! * the tasks are read `FOR SHARE`: a concurrent completion, deletion or reminder edit either
//!   commits first (and the re-checked row no longer qualifies) or waits for the claim.

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::events::{CloudEvent, PUBSUB, topics};
use common::reminders::{ReminderDueData, ReminderDueEvent};
use sqlx::PgPool;
use uuid::Uuid;

use crate::SERVICE;

/// The advisory lock (two-key form, a key space apart from the relay's one-key locks) that
/// serializes claimers: "taskfleet" / "reminder claim".
const CLAIM_LOCK: (i32, i32) = (0x7466_6c74, 1);

/// How far back and how much a claim looks.
#[derive(Debug, Clone)]
pub struct ClaimSettings {
    /// Reminders older than this are never fired (a task restored from long ago, a replica
    /// that was down for days): a reminder that late is noise, not help.
    pub catch_up_window: Duration,
    /// Reminders claimed per transaction; a claim repeats until fewer are due.
    pub batch_size: i64,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        Self {
            catch_up_window: Duration::from_secs(24 * 3600),
            batch_size: 500,
        }
    }
}

/// A reminder this claim fired.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FiredReminder {
    /// The notification created for it.
    pub notification_id: Uuid,
    /// The task's owner.
    pub user_id: String,
    /// The task.
    pub task_id: Uuid,
    /// The task's title.
    pub title: String,
    /// The reminder time that fired.
    pub reminder_at: DateTime<Utc>,
    /// The task's due date.
    pub due_date: Option<DateTime<Utc>>,
    /// The task's version.
    pub task_version: i64,
}

const CLAIM_SQL: &str = "\
WITH due AS (
    SELECT t.id AS task_id, t.user_id, t.title, t.reminder_at, t.due_date, t.version AS task_version
    FROM tasks t
    WHERE t.status = 'pending'
      AND t.reminder_at <= $1
      AND t.reminder_at > $1 - make_interval(secs => $2)
      AND NOT EXISTS (
          SELECT 1 FROM fired_reminders f WHERE f.task_id = t.id AND f.reminder_at = t.reminder_at)
    ORDER BY t.reminder_at, t.id
    LIMIT $3
    FOR SHARE OF t
), fired AS (
    INSERT INTO fired_reminders (task_id, reminder_at, notification_id)
    SELECT task_id, reminder_at, gen_random_uuid() FROM due
    ORDER BY reminder_at, task_id
    ON CONFLICT (task_id, reminder_at) DO NOTHING
    RETURNING task_id, reminder_at, notification_id
), inserted AS (
    INSERT INTO notifications (id, user_id, task_id, kind, title, body, reminder_at)
    SELECT f.notification_id, d.user_id, d.task_id, 'reminder', d.title,
           CASE WHEN d.due_date IS NULL THEN 'Reminder'
                ELSE 'Due ' || to_char(d.due_date AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"') END,
           d.reminder_at
    FROM fired f JOIN due d ON d.task_id = f.task_id AND d.reminder_at = f.reminder_at
    ORDER BY d.reminder_at, d.task_id
    ON CONFLICT (task_id, reminder_at) DO NOTHING
    RETURNING id, task_id, reminder_at
)
SELECT i.id AS notification_id, d.user_id, d.task_id, d.title, d.reminder_at, d.due_date, d.task_version
FROM inserted i JOIN due d ON d.task_id = i.task_id AND d.reminder_at = i.reminder_at
ORDER BY d.reminder_at, d.task_id";

/// Fires every reminder due at `now` (within the catch-up window) that has not fired yet, and
/// returns what this call fired. Safe to call from any number of replicas at once.
#[tracing::instrument(skip_all, fields(fired))]
pub async fn claim_due_reminders(
    pool: &PgPool,
    now: DateTime<Utc>,
    settings: &ClaimSettings,
) -> sqlx::Result<Vec<FiredReminder>> {
    let mut all = Vec::new();
    loop {
        let batch = claim_batch(pool, now, settings).await?;
        let done = (batch.len() as i64) < settings.batch_size;
        all.extend(batch);
        if done {
            break;
        }
    }
    tracing::Span::current().record("fired", all.len());
    Ok(all)
}

async fn claim_batch(
    pool: &PgPool,
    now: DateTime<Utc>,
    settings: &ClaimSettings,
) -> sqlx::Result<Vec<FiredReminder>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(CLAIM_LOCK.0)
        .bind(CLAIM_LOCK.1)
        .execute(&mut *tx)
        .await?;
    let fired: Vec<FiredReminder> = sqlx::query_as(CLAIM_SQL)
        .bind(now)
        .bind(settings.catch_up_window.as_secs_f64())
        .bind(settings.batch_size)
        .fetch_all(&mut *tx)
        .await?;
    let fired_at = Utc::now();
    for reminder in &fired {
        enqueue_reminder_due(&mut tx, reminder, fired_at).await?;
    }
    common::outbox::commit(tx).await?;
    for reminder in &fired {
        let lateness = (fired_at - reminder.reminder_at).as_seconds_f64().max(0.0);
        metrics::histogram!("reminder_lateness_seconds").record(lateness);
        tracing::info!(task_id = %reminder.task_id, notification_id = %reminder.notification_id,
            reminder_at = %reminder.reminder_at, lateness_ms = (lateness * 1000.0) as u64, "reminder fired");
    }
    metrics::counter!("reminders_fired_total").increment(fired.len() as u64);
    Ok(fired)
}

async fn enqueue_reminder_due(
    conn: &mut sqlx::PgConnection,
    reminder: &FiredReminder,
    fired_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let event = ReminderDueEvent::new(
        reminder.user_id.clone(),
        reminder.task_version,
        ReminderDueData {
            task_id: reminder.task_id,
            title: reminder.title.clone(),
            reminder_at: reminder.reminder_at,
            notification_id: reminder.notification_id,
            due_date: reminder.due_date,
        },
        fired_at,
    );
    let event_id = event.event_id;
    let envelope = serde_json::to_value(CloudEvent::for_reminder(SERVICE, event))
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    common::outbox::enqueue_envelope(
        conn,
        event_id,
        PUBSUB,
        topics::REMINDER_DUE,
        &reminder.user_id,
        &envelope,
    )
    .await
}

/// Deletes the records of reminders too old to be claimed again (before the catch-up window,
/// with an hour to spare), so `fired_reminders` stays as small as one window of reminders.
pub async fn forget_fired_reminders(
    pool: &PgPool,
    now: DateTime<Utc>,
    settings: &ClaimSettings,
) -> sqlx::Result<u64> {
    let horizon = settings.catch_up_window + Duration::from_secs(3600);
    Ok(sqlx::query(
        "DELETE FROM fired_reminders WHERE reminder_at < $1 - make_interval(secs => $2)",
    )
    .bind(now)
    .bind(horizon.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}

/// The earliest pending reminder strictly after `now`, if any: when the scheduler must wake.
pub async fn next_reminder_at(
    pool: &PgPool,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "SELECT min(reminder_at) FROM tasks WHERE status = 'pending' AND reminder_at > $1",
    )
    .bind(now)
    .fetch_one(pool)
    .await
}
