//! Series behaviour through the database: anchoring to the first occurrence, series ends.

use chrono::{Duration, Utc};
use common::tasks::{RecurringMode, Task, TaskStatus};

use crate::helpers::{TestApp, USER, at, completed_event, insert, new_task, set_status, spawn_app};

/// Completes `task` and delivers its event; returns the successors of `root` afterwards.
async fn complete(app: &TestApp, task: &Task, root: uuid::Uuid) -> Vec<Task> {
    let done = set_status(&app.pool, task, TaskStatus::Completed).await;
    assert_eq!(app.deliver(&completed_event(&done)).await, "SUCCESS");
    app.successors(root).await
}

#[tokio::test]
async fn a_monthly_series_started_on_january_31_goes_to_february_28_then_march_31() {
    let app = spawn_app().await;
    let mut new = new_task(Some("monthly"), Some(at("2026-01-31T08:00:00Z")));
    new.timezone = "UTC".to_owned();
    let root = insert(&app.pool, &new).await;

    let after_first = complete(&app, &root, root.id).await;
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].due_date, Some(at("2026-02-28T08:00:00Z")));
    let after_second = complete(&app, &after_first[0], root.id).await;

    let dues: Vec<_> = after_second.iter().map(|t| t.due_date).collect();
    assert_eq!(
        dues,
        vec![
            Some(at("2026-02-28T08:00:00Z")),
            Some(at("2026-03-31T08:00:00Z"))
        ]
    );
    assert!(
        after_second
            .iter()
            .all(|t| t.parent_task_id == Some(root.id))
    );
}

#[tokio::test]
async fn a_series_whose_first_occurrence_was_deleted_stays_anchored_to_its_start() {
    let app = spawn_app().await;
    let mut new = new_task(Some("monthly"), Some(at("2026-01-31T08:00:00Z")));
    new.timezone = "UTC".to_owned();
    let root = insert(&app.pool, &new).await;
    let february = complete(&app, &root, root.id).await.remove(0);
    let mut conn = app.pool.acquire().await.unwrap();
    common::tasks::delete_task(&mut conn, USER, root.id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);

    let successors = complete(&app, &february, root.id).await;

    assert_eq!(successors.len(), 2);
    assert_eq!(successors[1].due_date, Some(at("2026-03-31T08:00:00Z")));
}

#[tokio::test]
async fn a_series_past_its_end_date_creates_nothing() {
    let app = spawn_app().await;
    let mut new = new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z")));
    new.recurring_end_date = Some(at("2026-03-02T20:00:00Z"));
    let root = insert(&app.pool, &new).await;

    assert!(complete(&app, &root, root.id).await.is_empty());
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn a_series_with_count_creates_count_occurrences_in_all() {
    let app = spawn_app().await;
    let root = insert(
        &app.pool,
        &new_task(Some("FREQ=DAILY;COUNT=2"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let second = complete(&app, &root, root.id).await.remove(0);

    let successors = complete(&app, &second, root.id).await;

    assert_eq!(successors.len(), 1, "COUNT=2 allows one next occurrence");
    assert_eq!(app.outbox().await.len(), 1);
}

#[tokio::test]
async fn a_series_past_its_until_creates_nothing() {
    let app = spawn_app().await;
    let root = insert(
        &app.pool,
        &new_task(
            Some("FREQ=WEEKLY;UNTIL=20260305T000000Z"),
            Some(at("2026-03-02T08:00:00Z")),
        ),
    )
    .await;

    assert!(complete(&app, &root, root.id).await.is_empty());
}

#[tokio::test]
async fn completion_mode_counts_the_next_occurrence_from_the_completion() {
    let app = spawn_app().await;
    let mut new = new_task(Some("weekly"), Some(at("2026-03-02T08:00:00Z")));
    new.recurring_mode = RecurringMode::Completion;
    let root = insert(&app.pool, &new).await;

    let today = || {
        Utc::now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive()
    };
    let before = today();
    let successors = complete(&app, &root, root.id).await;
    let after = today();

    // Completed now: due a week from today (in Berlin, the task's zone — not UTC's today) at
    // 09:00 Berlin time, not a week after Mar 2.
    let due = successors[0].due_date.unwrap();
    let berlin = due.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(berlin.format("%H:%M").to_string(), "09:00");
    let week = chrono::Days::new(7);
    assert!(
        [before + week, after + week].contains(&berlin.date_naive()),
        "{due}"
    );
}

#[tokio::test]
async fn a_task_without_a_due_date_recurs_from_its_creation_time() {
    let app = spawn_app().await;
    let root = insert(&app.pool, &new_task(Some("daily"), None)).await;

    let successors = complete(&app, &root, root.id).await;

    assert_eq!(successors.len(), 1);
    let expected = root.created_at + Duration::days(1);
    let due = successors[0].due_date.unwrap();
    // Daily in Berlin is one calendar day, 24 h unless DST changes in between.
    assert!(
        (due - expected).num_hours().abs() <= 1,
        "{due} vs {expected}"
    );
    assert_eq!(successors[0].reminder_at, None);
}

#[tokio::test]
async fn a_task_deleted_or_stopped_from_recurring_before_its_completion_is_handled_gets_no_next_occurrence()
 {
    let app = spawn_app().await;
    // Deleted right after completing it: the event arrives after the delete.
    let deleted = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let done = set_status(&app.pool, &deleted, TaskStatus::Completed).await;
    let mut conn = app.pool.acquire().await.unwrap();
    common::tasks::delete_task(&mut conn, USER, deleted.id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(app.deliver(&completed_event(&done)).await, "SUCCESS");
    assert!(app.successors(deleted.id).await.is_empty());

    // Its rule cleared right after completing it.
    let stopped = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let done = set_status(&app.pool, &stopped, TaskStatus::Completed).await;
    sqlx::query("UPDATE tasks SET recurring_rule = NULL WHERE id = $1")
        .bind(stopped.id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.deliver(&completed_event(&done)).await, "SUCCESS");
    assert!(app.successors(stopped.id).await.is_empty());
    assert!(app.outbox().await.is_empty(), "no task-created published");
}

#[tokio::test]
async fn the_reminder_offset_carries_over_also_without_a_due_date() {
    let app = spawn_app().await;
    let mut new = new_task(Some("daily"), None);
    new.reminder_at = Some(Utc::now() + Duration::hours(2));
    let root = insert(&app.pool, &new).await;
    let offset = root.reminder_at.unwrap() - root.created_at;
    let next = complete(&app, &root, root.id).await.remove(0);
    let due = next.due_date.expect("the next occurrence has a due date");
    assert_eq!(next.reminder_at, Some(due + offset), "{next:?}");
}
