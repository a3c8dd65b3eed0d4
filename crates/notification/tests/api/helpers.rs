use chrono::{DateTime, Utc};
use common::config::ServiceSettings;
use notification::reminders::SchedulerSettings;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub use testkit::{Served, error_code, eventually, free_port, fresh_database, token};

pub fn settings(database_url: &str) -> ServiceSettings {
    testkit::service_settings(database_url, free_port())
}

/// One running notification instance.
pub struct Instance(Served);

impl std::ops::Deref for Instance {
    type Target = Served;

    fn deref(&self) -> &Served {
        &self.0
    }
}

impl Instance {
    /// The cron tick exactly as the sidecar sends it: empty body, JSON content type.
    pub async fn cron_tick(&self) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/reminder-cron", self.address))
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// The production setup: the exact-time loop with its defaults.
pub fn with_scheduler() -> Option<SchedulerSettings> {
    Some(SchedulerSettings::default())
}

/// No exact-time loop: only the cron route fires reminders.
pub fn cron_only() -> Option<SchedulerSettings> {
    None
}

/// A notification instance with its own connection pool, as a separate replica would have.
pub async fn spawn_instance(url: &str, scheduler: Option<SchedulerSettings>) -> Instance {
    spawn_instance_with(settings(url), scheduler).await
}

pub async fn spawn_instance_with(
    settings: ServiceSettings,
    scheduler: Option<SchedulerSettings>,
) -> Instance {
    let settings = notification::Settings {
        scheduler,
        ..notification::Settings::new(settings)
    };
    let service = notification::build(settings).await.unwrap();
    Instance(Served::start(service))
}

/// Inserts a pending task. One with a reminder NOTIFYs the scheduler on commit, through the
/// trigger on `tasks`, as every write of backend-api that plans a reminder does.
pub async fn insert_task(
    pool: &PgPool,
    user: &str,
    title: &str,
    reminder_at: Option<DateTime<Utc>>,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO tasks (id, user_id, title, reminder_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(user)
        .bind(title)
        .bind(reminder_at)
        .execute(pool)
        .await
        .unwrap();
    id
}

/// Runs `sql` (with the task id as `$1`), as a backend-api write (the trigger on `tasks`
/// NOTIFYs when it plans a reminder).
pub async fn write_task(pool: &PgPool, sql: &str, id: Uuid) {
    let changed = sqlx::query(sql)
        .bind(id)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 1, "{sql}");
}

/// Inserts a notification directly (for API tests that need no scheduling).
pub async fn insert_notification(pool: &PgPool, user: &str, title: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO notifications (id, user_id, task_id, kind, title, body, reminder_at, created_at) \
         VALUES ($1, $2, $3, 'reminder', $4, 'Reminder', now(), clock_timestamp())",
    )
    .bind(id)
    .bind(user)
    .bind(Uuid::now_v7())
    .bind(title)
    .execute(pool)
    .await
    .unwrap();
    id
}

pub async fn notification_count(pool: &PgPool, task_id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE task_id = $1")
        .bind(task_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `reminder-due` outbox rows about `task_id`.
pub async fn reminder_events(pool: &PgPool, task_id: Uuid) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT envelope FROM outbox WHERE topic = 'reminder-due' \
         AND envelope->'data'->'data'->>'task_id' = $1 ORDER BY id",
    )
    .bind(task_id.to_string())
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Waits until wall-clock time `at` has passed.
pub async fn sleep_past(at: DateTime<Utc>) {
    if let Ok(left) = (at - Utc::now()).to_std() {
        tokio::time::sleep(left).await;
    }
}

/// An instance with Web Push configured as `push` (the cron route only fires reminders).
pub async fn spawn_push_instance(url: &str, push: notification::push::PushSettings) -> Instance {
    let settings = notification::Settings {
        scheduler: None,
        push,
        ..notification::Settings::new(settings(url))
    };
    let service = notification::build(settings).await.unwrap();
    Instance(Served::start(service))
}

impl Instance {
    /// POSTs `body` to the delivery route of `topic` as the sidecar does; the reply's status.
    pub async fn deliver(&self, topic: &str, body: Vec<u8>) -> String {
        let reply: Value = self
            .client
            .post(format!("{}/events/{topic}", self.address))
            .header("content-type", "application/cloudevents+json")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["status"].as_str().unwrap_or_default().to_owned()
    }
}

/// The `user-deleted` CloudEvent backend-api publishes when `user` deletes their account.
pub fn user_deleted(user: &str) -> Vec<u8> {
    serde_json::to_vec(&common::events::CloudEvent::for_user_deleted(
        "backend-api",
        common::events::UserDeleted::new(user, None),
        None,
    ))
    .unwrap()
}
