//! The exact-time loop: fires once across replicas, follows moves, honours cancellations.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use notification::reminders::SchedulerSettings;
use serde_json::Value;

use crate::helpers::{
    eventually, fresh_database, insert_task, notification_count, reminder_events, sleep_past,
    spawn_instance, with_scheduler, write_task,
};

const DEADLINE: Duration = Duration::from_secs(15);

fn in_ms(ms: i64) -> DateTime<Utc> {
    Utc::now() + TimeDelta::milliseconds(ms)
}

#[tokio::test]
async fn a_reminder_two_seconds_ahead_fires_exactly_once_with_two_instances_running() {
    let (pool, url) = fresh_database().await;
    let first = spawn_instance(&url, with_scheduler()).await;
    let _second = spawn_instance(&url, with_scheduler()).await;
    let reminder_at = in_ms(2000);
    let task = insert_task(&pool, "alice", "water the plants", Some(reminder_at)).await;

    eventually(DEADLINE, "the reminder to fire", || async {
        (notification_count(&pool, task).await > 0).then_some(())
    })
    .await;
    // Both loops woke for the same reminder; give the loser every chance to fire a duplicate.
    sleep_past(reminder_at + TimeDelta::milliseconds(1500)).await;
    assert_eq!(notification_count(&pool, task).await, 1);
    let events = reminder_events(&pool, task).await;
    assert_eq!(events.len(), 1, "one reminder-due event: {events:?}");

    let (status, page) = first.get_json("alice", "/api/notifications").await;
    assert_eq!(status, 200);
    let item = &page["items"][0];
    assert_eq!(item["task_id"], task.to_string());
    assert_eq!(item["kind"], "reminder");
    assert_eq!(item["title"], "water the plants");
    assert_eq!(item["read"], false);
    let created: DateTime<Utc> = item["created_at"].as_str().unwrap().parse().unwrap();
    let fired_for: DateTime<Utc> = item["reminder_at"].as_str().unwrap().parse().unwrap();
    assert!(
        created.timestamp_micros() >= reminder_at.timestamp_micros(),
        "fired early: {created} < {reminder_at}"
    );
    assert_eq!(fired_for.timestamp_micros(), reminder_at.timestamp_micros());

    let envelope = &events[0];
    assert_eq!(envelope["type"], "com.taskfleet.reminder-due.v1");
    assert_eq!(envelope["source"], "notification");
    assert_eq!(envelope["datacontenttype"], "application/json");
    assert_eq!(envelope["id"], envelope["data"]["event_id"]);
    let data: &Value = &envelope["data"];
    assert_eq!(data["event_type"], "reminder-due");
    assert_eq!(data["schema_version"], 1);
    assert_eq!(data["user_id"], "alice");
    assert_eq!(data["actor"], "notification");
    assert_eq!(data["task_version"], 1);
    assert_eq!(data["data"]["notification_id"], item["id"]);
    assert_eq!(data["data"]["title"], "water the plants");
    let partition_key: String =
        sqlx::query_scalar("SELECT partition_key FROM outbox WHERE topic = 'reminder-due'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(partition_key, "alice");
}

/// Waits for `control` (same reminder time as `cancelled`) to fire, then checks `cancelled`
/// did not: both would have been taken by the same pass.
async fn assert_cancelled(pool: &sqlx::PgPool, control: uuid::Uuid, cancelled: uuid::Uuid) {
    eventually(DEADLINE, "the control reminder to fire", || async {
        (notification_count(pool, control).await == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(notification_count(pool, cancelled).await, 0);
    assert!(reminder_events(pool, cancelled).await.is_empty());
}

#[tokio::test]
async fn completing_the_task_before_its_reminder_time_cancels_the_reminder() {
    let (pool, url) = fresh_database().await;
    let _instance = spawn_instance(&url, with_scheduler()).await;
    let at = in_ms(2000);
    let control = insert_task(&pool, "alice", "control", Some(at)).await;
    let task = insert_task(&pool, "alice", "done early", Some(at)).await;
    write_task(
        &pool,
        "UPDATE tasks SET status = 'completed', completed_at = now(), version = version + 1 WHERE id = $1",
        task,
    )
    .await;
    assert_cancelled(&pool, control, task).await;
}

#[tokio::test]
async fn deleting_the_task_before_its_reminder_time_cancels_the_reminder() {
    let (pool, url) = fresh_database().await;
    let _instance = spawn_instance(&url, with_scheduler()).await;
    let at = in_ms(2000);
    let control = insert_task(&pool, "alice", "control", Some(at)).await;
    let task = insert_task(&pool, "alice", "deleted", Some(at)).await;
    write_task(&pool, "DELETE FROM tasks WHERE id = $1", task).await;
    assert_cancelled(&pool, control, task).await;
}

#[tokio::test]
async fn moving_the_reminder_later_fires_it_at_the_new_time_only() {
    let (pool, url) = fresh_database().await;
    let _instance = spawn_instance(&url, with_scheduler()).await;
    let old_at = in_ms(1500);
    let task = insert_task(&pool, "alice", "moved", Some(old_at)).await;
    // Postgres keeps microseconds: compare at that precision.
    let new_at = DateTime::from_timestamp_micros(
        (old_at + TimeDelta::milliseconds(2500)).timestamp_micros(),
    )
    .unwrap();
    let move_sql = format!(
        "UPDATE tasks SET reminder_at = '{}', version = version + 1 WHERE id = $1",
        new_at.to_rfc3339()
    );
    write_task(&pool, &move_sql, task).await;

    sleep_past(old_at + TimeDelta::milliseconds(800)).await;
    assert_eq!(
        notification_count(&pool, task).await,
        0,
        "fired at the old time"
    );
    eventually(DEADLINE, "the moved reminder to fire", || async {
        (notification_count(&pool, task).await == 1).then_some(())
    })
    .await;
    let (fired_for, created): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("SELECT reminder_at, created_at FROM notifications WHERE task_id = $1")
            .bind(task)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(fired_for.timestamp_micros(), new_at.timestamp_micros());
    assert!(created >= new_at, "fired before its new time");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(notification_count(&pool, task).await, 1);
    let events = reminder_events(&pool, task).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["task_version"], 2);
}

#[tokio::test]
async fn a_new_reminder_is_scheduled_through_the_tasks_notify_without_waiting_for_a_poll() {
    let (pool, url) = fresh_database().await;
    // With an hour between polls, only the NOTIFY can tell the loop about the new reminder.
    let scheduler = SchedulerSettings {
        poll_interval: Duration::from_secs(3600),
        ..SchedulerSettings::default()
    };
    let _instance = spawn_instance(&url, Some(scheduler)).await;
    // Let the loop run its first pass and go to sleep for the hour.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at = in_ms(1500);
    let task = insert_task(&pool, "alice", "notified", Some(at)).await;
    eventually(DEADLINE, "the notified reminder to fire", || async {
        (notification_count(&pool, task).await == 1).then_some(())
    })
    .await;
}

/// The trigger on `tasks` also wakes the loop for a reminder planned on a task that had none,
/// and for a task reopened with a reminder; each fires at its time, not at the next poll.
#[tokio::test]
async fn a_reminder_planned_by_an_update_or_a_reopen_wakes_the_loop_without_waiting_for_a_poll() {
    let (pool, url) = fresh_database().await;
    let scheduler = SchedulerSettings {
        poll_interval: Duration::from_secs(3600),
        ..SchedulerSettings::default()
    };
    let _instance = spawn_instance(&url, Some(scheduler)).await;
    let planned = insert_task(&pool, "alice", "planned later", None).await;
    let reopened = insert_task(&pool, "alice", "reopened", None).await;
    let reopened_at = in_ms(1500);
    let planned_at = in_ms(3500);
    // Completed with a reminder: nothing to plan yet.
    let complete_sql = format!(
        "UPDATE tasks SET status = 'completed', completed_at = now(), reminder_at = '{}', \
         version = version + 1 WHERE id = $1",
        reopened_at.to_rfc3339()
    );
    write_task(&pool, &complete_sql, reopened).await;
    // Let the loop run its first pass and go to sleep for the hour.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let plan_sql = format!(
        "UPDATE tasks SET reminder_at = '{}', version = version + 1 WHERE id = $1",
        planned_at.to_rfc3339()
    );
    write_task(&pool, &plan_sql, planned).await;
    write_task(
        &pool,
        "UPDATE tasks SET status = 'pending', completed_at = NULL, version = version + 1 \
         WHERE id = $1",
        reopened,
    )
    .await;
    let fired_at = |task| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, DateTime<Utc>>(
                "SELECT created_at FROM notifications WHERE task_id = $1",
            )
            .bind(task)
            .fetch_optional(&pool)
            .await
            .unwrap()
        }
    };
    let reopened_fired = eventually(DEADLINE, "the reopened task's reminder", || {
        fired_at(reopened)
    })
    .await;
    assert!(
        reopened_fired < planned_at,
        "the reopened task's reminder waited for the other one's wake-up"
    );
    eventually(DEADLINE, "the planned reminder", || fired_at(planned)).await;
}
