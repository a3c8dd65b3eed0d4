use std::time::Duration;

use chrono::{DateTime, Utc};
use common::config::ServiceSettings;
use common::events::{Actor, CloudEvent, EventType, TaskEvent};
use common::outbox::RelaySettings;
use common::tasks::{NewTask, Priority, RecurringMode, Task, TaskStatus};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub use testkit::{Served, free_port, fresh_database};

pub const USER: &str = "alice";

pub fn settings(database_url: &str, app_api_token: Option<&str>) -> ServiceSettings {
    ServiceSettings {
        app_api_token: app_api_token.map(Into::into),
        ..testkit::service_settings(database_url, free_port())
    }
}

pub struct TestApp {
    pub served: Served,
    pub pool: PgPool,
}

impl std::ops::Deref for TestApp {
    type Target = Served;

    fn deref(&self) -> &Served {
        &self.served
    }
}

pub async fn spawn_app() -> TestApp {
    let (pool, url) = fresh_database().await;
    spawn_app_on(pool, &settings(&url, None)).await
}

pub async fn spawn_app_on(pool: PgPool, settings: &ServiceSettings) -> TestApp {
    let relay = RelaySettings {
        poll_interval: Duration::from_millis(200),
        ..RelaySettings::default()
    };
    let settings = recurring::Settings {
        relay,
        ..recurring::Settings::new(settings.clone())
    };
    let service = recurring::build(settings).await.unwrap();
    TestApp {
        served: Served::start(service),
        pool,
    }
}

/// A pending task of [`USER`] due at `due`, recurring per `rule`.
pub fn new_task(rule: Option<&str>, due: Option<DateTime<Utc>>) -> NewTask {
    NewTask {
        id: Uuid::now_v7(),
        user_id: USER.to_owned(),
        title: "Water the plants".to_owned(),
        description: "the ones on the balcony".to_owned(),
        priority: Priority::High,
        tags: vec!["home".to_owned(), "garden".to_owned()],
        due_date: due,
        reminder_at: due.map(|d| d - chrono::Duration::minutes(30)),
        recurring_rule: rule.map(str::to_owned),
        recurring_mode: RecurringMode::Schedule,
        recurring_end_date: None,
        timezone: "Europe/Berlin".to_owned(),
        parent_task_id: None,
    }
}

/// Stores `new` as a pending task, without an event (the test plays the events itself).
pub async fn insert(pool: &PgPool, new: &NewTask) -> Task {
    let mut conn = pool.acquire().await.unwrap();
    let task = new.clone().into_task(chrono::Utc::now());
    common::tasks::reinsert_task(&mut conn, &task)
        .await
        .unwrap()
}

/// Sets the task's status as the API would, returning the stored row.
pub async fn set_status(pool: &PgPool, task: &Task, status: TaskStatus) -> Task {
    let mut tx = pool.begin().await.unwrap();
    let mut row = common::tasks::lock_task(&mut tx, USER, task.id)
        .await
        .unwrap()
        .unwrap();
    row.status = status;
    row.completed_at = (status == TaskStatus::Completed).then(Utc::now);
    let row = common::tasks::update_task(&mut tx, &row).await.unwrap();
    tx.commit().await.unwrap();
    row
}

/// The `task-completed` CloudEvent backend-api publishes when `task` is completed.
pub fn completed_event(task: &Task) -> CloudEvent<TaskEvent> {
    let event = TaskEvent::new(
        EventType::TaskCompleted,
        Actor::User,
        task,
        None,
        Some("request-42".to_owned()),
    );
    CloudEvent::for_task_event(
        "backend-api",
        event,
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned()),
    )
}

impl TestApp {
    /// POSTs `body` to the delivery route as the sidecar does and returns the reply status.
    pub async fn deliver_bytes(&self, body: Vec<u8>, token: Option<&str>) -> (u16, String) {
        let mut request = self
            .client
            .post(format!("{}/events/task-completed", self.address))
            .header("content-type", "application/cloudevents+json")
            .header("pubsubName", "pubsub")
            .header("__topic", "task-completed");
        if let Some(token) = token {
            request = request.header("dapr-api-token", token);
        }
        let response = request.body(body).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (
            status,
            body["status"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Delivers `envelope` and asserts a 200 reply, returning its status string.
    pub async fn deliver(&self, envelope: &CloudEvent<TaskEvent>) -> String {
        let (status, reply) = self
            .deliver_bytes(serde_json::to_vec(envelope).unwrap(), None)
            .await;
        assert_eq!(status, 200, "a delivery must always be answered 200");
        reply
    }

    /// The tasks of the series rooted at `root` other than the root itself, by due date.
    pub async fn successors(&self, root: Uuid) -> Vec<Task> {
        let tasks: Vec<Task> = sqlx::query_as(
            "SELECT id, user_id, title, description, status, priority, tags, due_date, \
             reminder_at, recurring_rule, recurring_mode, recurring_end_date, timezone, \
             parent_task_id, created_at, updated_at, completed_at, version \
             FROM tasks WHERE parent_task_id = $1 ORDER BY due_date",
        )
        .bind(root)
        .fetch_all(&self.pool)
        .await
        .unwrap();
        tasks
    }

    /// The envelopes in the outbox, oldest first.
    pub async fn outbox(&self) -> Vec<Value> {
        sqlx::query_scalar("SELECT envelope FROM outbox ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    pub async fn task_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM tasks")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    rfc3339.parse().unwrap()
}
