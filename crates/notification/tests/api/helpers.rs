use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, Utc};
use common::CancellationToken;
use common::auth::AuthSettings;
use common::config::ServiceSettings;
use notification::reminders::SchedulerSettings;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub use testkit::{SECRET, error_code, eventually, free_port, fresh_database, token};

pub fn settings(database_url: &str) -> ServiceSettings {
    ServiceSettings {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        dapr_http_port: free_port(),
        dapr_api_token: None,
        app_api_token: None,
        database_url: database_url.to_owned(),
        database_max_connections: 10,
        auth: AuthSettings {
            jwt_secret: Some(SECRET.to_owned()),
            jwks_url: None,
            ..Default::default()
        },
    }
}

/// One running notification instance.
pub struct Instance {
    pub address: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Instance {
    pub fn request(&self, method: Method, path: &str, user: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token(user))
    }

    pub async fn get_json(&self, user: &str, path: &str) -> (u16, Value) {
        let response = self.request(Method::GET, path, user).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

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
    let address = format!("http://127.0.0.1:{}", service.port());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { service.run_until_stopped(stop).await });
    Instance {
        address,
        client: reqwest::Client::new(),
        shutdown,
    }
}

/// Inserts a pending task; with `notify` it also NOTIFYs the outbox channel on commit, as
/// every backend-api write does.
pub async fn insert_task(
    pool: &PgPool,
    user: &str,
    title: &str,
    reminder_at: Option<DateTime<Utc>>,
    notify: bool,
) -> Uuid {
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO tasks (id, user_id, title, reminder_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(user)
        .bind(title)
        .bind(reminder_at)
        .execute(&mut *tx)
        .await
        .unwrap();
    if notify {
        notify_outbox(&mut tx).await;
    }
    tx.commit().await.unwrap();
    id
}

async fn notify_outbox(conn: &mut sqlx::PgConnection) {
    sqlx::query("SELECT pg_notify('outbox', '')")
        .execute(conn)
        .await
        .unwrap();
}

/// Runs `sql` (with the task id as `$1`) and NOTIFYs, like a backend-api write.
pub async fn write_task(pool: &PgPool, sql: &str, id: Uuid) {
    let mut tx = pool.begin().await.unwrap();
    let changed = sqlx::query(sql)
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 1, "{sql}");
    notify_outbox(&mut tx).await;
    tx.commit().await.unwrap();
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
