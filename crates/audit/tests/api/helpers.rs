use chrono::Utc;
use common::config::ServiceSettings;
use common::events::{
    Actor, Changes, CloudEvent, EventType, FieldChange, SCHEMA_VERSION, TaskEvent, TaskEventData,
};
use common::tasks::{Priority, RecurringMode, TaskStatus};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

pub use testkit::{Served, error_code, eventually, free_port, token};

/// A fresh, migrated database for one test.
pub use testkit::fresh_database;

/// The URL of a database that does not exist (nothing creates it).
pub fn unused_database_url() -> String {
    testkit::test_database_url()
}

pub use testkit::service_settings as settings;

pub struct TestAudit {
    pub served: Served,
    pub pool: PgPool,
}

impl std::ops::Deref for TestAudit {
    type Target = Served;

    fn deref(&self) -> &Served {
        &self.served
    }
}

/// The audit service on port 0 against a fresh database.
pub async fn spawn_audit() -> TestAudit {
    let (pool, url) = fresh_database().await;
    spawn_audit_with(pool, settings(&url, free_port())).await
}

pub async fn spawn_audit_with(pool: PgPool, settings: ServiceSettings) -> TestAudit {
    let service = audit::build(audit::Settings::new(settings)).await.unwrap();
    TestAudit {
        served: Served::start(service),
        pool,
    }
}

/// A task event of `user` about `task_id`, as backend-api would publish it.
pub fn task_event(event_type: EventType, user: &str, task_id: Uuid, version: i64) -> TaskEvent {
    let changes = (event_type == EventType::TaskUpdated).then(|| {
        Changes::from([(
            "title".to_owned(),
            FieldChange {
                before: json!("old title"),
                after: json!("new title"),
            },
        )])
    });
    TaskEvent {
        event_id: Uuid::now_v7(),
        event_type,
        schema_version: SCHEMA_VERSION,
        timestamp: Utc::now(),
        user_id: user.to_owned(),
        correlation_id: Some("req-1".to_owned()),
        actor: Actor::User,
        task_version: version,
        data: TaskEventData {
            task_id,
            title: "new title".to_owned(),
            description: "ünïcode – \"quoted\"".to_owned(),
            priority: Priority::High,
            tags: vec!["work".to_owned()],
            status: if event_type == EventType::TaskCompleted {
                TaskStatus::Completed
            } else {
                TaskStatus::Pending
            },
            due_date: Some(Utc::now()),
            reminder_at: None,
            recurring_rule: Some("daily".to_owned()),
            recurring_mode: RecurringMode::default(),
            recurring_end_date: None,
            timezone: "Europe/Berlin".to_owned(),
            parent_task_id: None,
            created_at: Some(Utc::now()),
            updated_at: Some(Utc::now()),
            completed_at: None,
            changes,
        },
    }
}

/// The CloudEvent body the sidecar would deliver for `event`.
pub fn cloudevent(event: &TaskEvent) -> Value {
    let mut envelope = serde_json::to_value(CloudEvent::for_task_event(
        "backend-api",
        event.clone(),
        None,
    ))
    .unwrap();
    // Fields daprd adds on delivery; the handler must ignore them.
    envelope["topic"] = json!(event.event_type.topic());
    envelope["pubsubname"] = json!("pubsub");
    envelope
}

impl TestAudit {
    pub fn request(&self, method: Method, path: &str, user: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token(user))
    }

    /// POSTs raw bytes to a delivery route as the sidecar does; returns (status, body).
    pub async fn deliver_raw(&self, topic: &str, body: Vec<u8>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/events/{topic}", self.address))
            .header("content-type", "application/cloudevents+json")
            .header("pubsubname", "pubsub")
            .header("__topic", topic)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Delivers `event` on its topic and returns the reply status string.
    pub async fn deliver(&self, event: &TaskEvent) -> String {
        let body = serde_json::to_vec(&cloudevent(event)).unwrap();
        let (status, reply) = self.deliver_raw(event.event_type.topic(), body).await;
        assert_eq!(status, 200, "{reply}");
        reply["status"].as_str().unwrap().to_owned()
    }

    pub async fn get_json(&self, user: &str, path: &str) -> (u16, Value) {
        let response = self.request(Method::GET, path, user).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /api/audit…` that must succeed; returns the items.
    pub async fn entries(&self, user: &str, query: &str) -> Vec<Value> {
        let (status, body) = self.get_json(user, &format!("/api/audit{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().unwrap().clone()
    }

    pub async fn verify(&self, user: &str) -> Value {
        let (status, body) = self.get_json(user, "/api/audit/verify").await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_log")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// Delivers `n` events of one new task of `user` (created, then updated), each answered
/// SUCCESS; their event ids in order.
pub async fn record(app: &TestAudit, user: &str, n: i64) -> Vec<Uuid> {
    let task_id = Uuid::new_v4();
    let mut ids = Vec::new();
    for version in 1..=n {
        let kind = if version == 1 {
            EventType::TaskCreated
        } else {
            EventType::TaskUpdated
        };
        let event = task_event(kind, user, task_id, version);
        assert_eq!(app.deliver(&event).await, "SUCCESS");
        ids.push(event.event_id);
    }
    ids
}
