//! How each delivery of `task-completed` is answered and what it leaves in the database.

use common::tasks::{Priority, RecurringMode, TaskStatus};
use serde_json::json;
use testkit::SendJson;

use crate::helpers::{
    USER, at, completed_event, insert, new_task, set_status, settings, spawn_app, spawn_app_on,
};

#[tokio::test]
async fn completing_a_daily_task_creates_one_next_occurrence_due_the_next_day_with_its_fields() {
    let app = spawn_app().await;
    let mut new = new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z")));
    new.recurring_end_date = Some(at("2026-12-31T00:00:00Z"));
    let task = insert(&app.pool, &new).await;
    let done = set_status(&app.pool, &task, TaskStatus::Completed).await;

    assert_eq!(app.deliver(&completed_event(&done)).await, "SUCCESS");

    let successors = app.successors(task.id).await;
    assert_eq!(successors.len(), 1);
    let next = &successors[0];
    assert_eq!(next.user_id, USER);
    assert_eq!(next.status, TaskStatus::Pending);
    assert_eq!(next.due_date, Some(at("2026-03-03T08:00:00Z")));
    assert_eq!(next.reminder_at, Some(at("2026-03-03T07:30:00Z")));
    assert_eq!(next.title, "Water the plants");
    assert_eq!(next.description, "the ones on the balcony");
    assert_eq!(next.priority, Priority::High);
    assert_eq!(next.tags, vec!["home", "garden"]);
    assert_eq!(next.timezone, "Europe/Berlin");
    assert_eq!(next.recurring_rule.as_deref(), Some("daily"));
    assert_eq!(next.recurring_mode, RecurringMode::Schedule);
    assert_eq!(next.recurring_end_date, new.recurring_end_date);
    assert_eq!(next.parent_task_id, Some(task.id));

    let outbox = app.outbox().await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let envelope = &outbox[0];
    assert_eq!(envelope["source"], "recurring");
    assert_eq!(envelope["type"], "com.taskfleet.task-created.v1");
    assert_eq!(envelope["data"]["event_type"], "task-created");
    assert_eq!(envelope["data"]["actor"], "recurring");
    assert_eq!(envelope["data"]["user_id"], USER);
    assert_eq!(envelope["data"]["correlation_id"], "request-42");
    assert_eq!(envelope["data"]["data"]["task_id"], json!(next.id));
    assert_eq!(envelope["data"]["data"]["parent_task_id"], json!(task.id));
}

#[tokio::test]
async fn the_same_event_delivered_five_times_concurrently_creates_exactly_one_occurrence() {
    let app = spawn_app().await;
    let task = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let event = completed_event(&set_status(&app.pool, &task, TaskStatus::Completed).await);

    let replies = futures::future::join_all((0..5).map(|_| app.deliver(&event))).await;

    assert_eq!(replies, vec!["SUCCESS"; 5]);
    assert_eq!(app.successors(task.id).await.len(), 1);
    assert_eq!(app.outbox().await.len(), 1);
}

#[tokio::test]
async fn reopening_and_completing_a_task_again_creates_no_second_occurrence() {
    let app = spawn_app().await;
    let task = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let first = completed_event(&set_status(&app.pool, &task, TaskStatus::Completed).await);
    assert_eq!(app.deliver(&first).await, "SUCCESS");

    let reopened = set_status(&app.pool, &task, TaskStatus::Pending).await;
    let second = completed_event(&set_status(&app.pool, &reopened, TaskStatus::Completed).await);
    assert_ne!(first.id, second.id);
    // Both events at once as well: the old one redelivered and the new one.
    let replies = futures::future::join_all([app.deliver(&second), app.deliver(&first)]).await;

    assert_eq!(replies, vec!["SUCCESS"; 2]);
    assert_eq!(app.successors(task.id).await.len(), 1);
    assert_eq!(app.outbox().await.len(), 1);
}

#[tokio::test]
async fn completing_a_task_that_does_not_recur_creates_nothing() {
    let app = spawn_app().await;
    let task = insert(&app.pool, &new_task(None, Some(at("2026-03-02T08:00:00Z")))).await;
    let event = completed_event(&set_status(&app.pool, &task, TaskStatus::Completed).await);

    assert_eq!(app.deliver(&event).await, "SUCCESS");

    assert_eq!(app.task_count().await, 1);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn malformed_and_unknown_schema_deliveries_are_dropped() {
    let app = spawn_app().await;
    let task = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let event = completed_event(&set_status(&app.pool, &task, TaskStatus::Completed).await);
    let mut future_schema = serde_json::to_value(&event).unwrap();
    future_schema["data"]["schema_version"] = json!(2);
    let mut wrong_type = event.clone();
    wrong_type.data.event_type = common::events::EventType::TaskCreated;

    for body in [
        b"not json at all".to_vec(),
        b"{\"specversion\":\"1.0\"}".to_vec(),
        Vec::new(),
        serde_json::to_vec(&future_schema).unwrap(),
        serde_json::to_vec(&wrong_type).unwrap(),
    ] {
        assert_eq!(
            app.deliver_bytes(body, None).await,
            (200, "DROP".to_owned())
        );
    }
    assert_eq!(app.task_count().await, 1);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn a_delivery_while_the_database_is_unreachable_is_answered_retry() {
    let unreachable = format!(
        "postgres://postgres@127.0.0.1:{}/nowhere",
        crate::helpers::free_port()
    );
    let pool = common::db::connect_lazy(&unreachable, 2).unwrap();
    let app = spawn_app_on(pool, &settings(&unreachable, None)).await;
    let (db_pool, _) = crate::helpers::fresh_database().await;
    let task = insert(
        &db_pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let event = completed_event(&set_status(&db_pool, &task, TaskStatus::Completed).await);

    assert_eq!(app.deliver(&event).await, "RETRY");
}

#[tokio::test]
async fn deliveries_need_the_app_token_when_one_is_configured() {
    let (pool, url) = crate::helpers::fresh_database().await;
    let app = spawn_app_on(pool, &settings(&url, Some("sidecar-secret"))).await;
    let task = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let event = serde_json::to_vec(&completed_event(
        &set_status(&app.pool, &task, TaskStatus::Completed).await,
    ))
    .unwrap();

    let (status, _) = app.deliver_bytes(event.clone(), Some("wrong")).await;
    assert_eq!(status, 403);
    assert!(app.successors(task.id).await.is_empty());
    let subscribe = app
        .client
        .get(format!("{}/dapr/subscribe", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(subscribe.status(), 401);

    assert_eq!(
        app.deliver_bytes(event, Some("sidecar-secret")).await,
        (200, "SUCCESS".to_owned())
    );
    assert_eq!(app.successors(task.id).await.len(), 1);
}

#[tokio::test]
async fn the_subscription_list_names_task_completed_with_its_dead_letter_topic() {
    let app = spawn_app().await;
    let list: serde_json::Value = app
        .client
        .get(format!("{}/dapr/subscribe", app.address))
        .send_json()
        .await;
    assert_eq!(
        list,
        json!([{
            "pubsubname": "pubsub",
            "topic": "task-completed",
            "route": "/events/task-completed",
            "deadLetterTopic": "recurring-task-completed-dlq",
        }, {
            "pubsubname": "pubsub",
            "topic": "user-deleted",
            "route": "/events/user-deleted",
            "deadLetterTopic": "recurring-user-deleted-dlq",
        }, {
            "pubsubname": "pubsub",
            "topic": "recurring-task-completed-dlq",
            "route": "/dead-letters/task-completed",
        }, {
            "pubsubname": "pubsub",
            "topic": "recurring-user-deleted-dlq",
            "route": "/dead-letters/user-deleted",
        }])
    );
}

#[tokio::test]
async fn a_deleted_account_loses_its_links_and_gets_no_next_occurrence() {
    let app = spawn_app().await;
    let first = insert(
        &app.pool,
        &new_task(Some("daily"), Some(at("2026-03-02T08:00:00Z"))),
    )
    .await;
    let first = set_status(&app.pool, &first, TaskStatus::Completed).await;
    assert_eq!(app.deliver(&completed_event(&first)).await, "SUCCESS");
    let links = |user: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM recurrence_links WHERE user_id = $1")
                .bind(user)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(links(USER).await, 1);
    // Another user's link stays.
    sqlx::query(
        "INSERT INTO recurrence_links (completed_task_id, user_id, series_id, next_task_id, \
         occurs_at, series_start) VALUES (gen_random_uuid(), 'someone-else', gen_random_uuid(), \
         gen_random_uuid(), now(), now())",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    // backend-api's erasure: the user's tasks gone, the user in erased_users.
    let mut other = new_task(Some("daily"), Some(at("2026-03-05T08:00:00Z")));
    other.title = "completed just before the deletion".to_owned();
    let late = set_status(
        &app.pool,
        &insert(&app.pool, &other).await,
        TaskStatus::Completed,
    )
    .await;
    sqlx::query("INSERT INTO erased_users (user_id) VALUES ($1)")
        .bind(USER)
        .execute(&app.pool)
        .await
        .unwrap();
    let event = common::events::UserDeleted::new(USER, None);
    let body = serde_json::to_vec(&common::events::CloudEvent::for_user_deleted(
        "backend-api",
        event,
        None,
    ))
    .unwrap();
    for _ in 0..2 {
        let reply: serde_json::Value = app
            .client
            .post(format!("{}/events/user-deleted", app.address))
            .header("content-type", "application/cloudevents+json")
            .body(body.clone())
            .send_json()
            .await;
        assert_eq!(reply["status"], "SUCCESS");
    }
    assert_eq!(links(USER).await, 0);
    assert_eq!(links("someone-else").await, 1);

    // The completion that was still on its way creates nothing for the deleted account.
    let before = app.task_count().await;
    assert_eq!(app.deliver(&completed_event(&late)).await, "SUCCESS");
    assert_eq!(app.task_count().await, before);
    assert!(app.successors(late.id).await.is_empty());
}

#[tokio::test]
async fn processed_event_records_are_forgotten_after_their_retention_only() {
    let (pool, _url) = crate::helpers::fresh_database().await;
    let (old, recent, other) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    for (consumer, id, age_days) in [
        ("recurring", old, 20),
        ("recurring", recent, 1),
        ("audit", other, 20),
    ] {
        testkit::record_processed_days_ago(&pool, consumer, id, age_days).await;
    }
    let forgotten = common::idempotency::forget_processed(
        &pool,
        "recurring",
        common::idempotency::PROCESSED_RETENTION,
    )
    .await
    .unwrap();
    assert_eq!(forgotten, 1);
    let left: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT event_id FROM processed_events ORDER BY processed_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&recent) && left.contains(&other));
}
