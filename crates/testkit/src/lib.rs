//! Test support shared by every crate's integration tests: a fresh migrated database per test,
//! free ports, HS256 tokens, service settings for port 0, a built service served until the test
//! drops it ([`Served`]), a task to publish ([`task`]), polling with a deadline, the API error
//! shape, a scripted model provider ([`llm`]) and a TCP proxy that cuts connections on demand
//! ([`fault_proxy`]). Only tests depend on it (as a dev-dependency).
#![allow(clippy::unwrap_used)]

pub mod fault_proxy;
pub mod llm;
pub mod push_service;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::auth::AuthSettings;
use common::config::ServiceSettings;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// The HS256 secret every test service is configured with.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// The Postgres tests create their databases next to (`DATABASE_URL`'s server).
pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new database name for one test: `TASKFLEET_TEST_DB_PREFIX` (default `taskfleet_test_`)
/// and a uuid. `scripts/test` sets a prefix per run and drops every database with it at the end,
/// so a run leaves no database behind.
pub fn test_database_name() -> String {
    let prefix = std::env::var("TASKFLEET_TEST_DB_PREFIX")
        .ok()
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or_else(|| "taskfleet_test_".to_owned());
    format!("{prefix}{}", Uuid::new_v4().simple())
}

/// The URL of a new test database on `DATABASE_URL`'s server (not created yet).
pub fn test_database_url() -> String {
    let base = base_database_url();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{}", test_database_name())
}

/// A fresh, migrated database (see [`test_database_name`]) for one test, with its URL.
pub async fn fresh_database() -> (PgPool, String) {
    let url = test_database_url();
    common::db::ensure_database(&url).await.unwrap();
    let pool = common::db::connect(&url, 20).await.unwrap();
    common::db::MIGRATOR.run(&pool).await.unwrap();
    (pool, url)
}

/// Records that `consumer` processed `event_id` `age_days` days ago, for the tests of the
/// records' retention.
pub async fn record_processed_days_ago(
    pool: &PgPool,
    consumer: &str,
    event_id: uuid::Uuid,
    age_days: i32,
) {
    sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at) \
         VALUES ($1, $2, now() - make_interval(days => $3))",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(age_days)
    .execute(pool)
    .await
    .unwrap();
}

/// The plan `session` makes for `statement` as a prepared statement named `name`, executed with
/// `arguments` (its parameters written out, in parentheses). EXPLAIN runs nothing.
pub async fn prepared_plan(
    session: &mut sqlx::PgConnection,
    name: &str,
    statement: &str,
    arguments: &str,
) -> String {
    sqlx::raw_sql(&format!("PREPARE {name} AS {statement}"))
        .execute(&mut *session)
        .await
        .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE {name}{arguments}"))
        .fetch_all(&mut *session)
        .await
        .unwrap();
    plan.join("\n")
}

/// A port nothing listens on (bound once, then released): a sidecar that is "down" until a
/// test starts one there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Settings for a service on port 0 of 127.0.0.1 with the test secret.
pub fn service_settings(database_url: &str, dapr_port: u16) -> ServiceSettings {
    ServiceSettings {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        dapr_http_port: dapr_port,
        dapr_api_token: None,
        app_api_token: None,
        database_url: database_url.to_owned(),
        database_max_connections: 20,
        auth: AuthSettings {
            jwt_secret: Some(SECRET.into()),
            jwks_url: None,
            ..Default::default()
        },
    }
}

/// A built service serving on its port until dropped, with requests signed as a user.
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The port it bound.
    pub port: u16,
    /// A client for the tests' requests.
    pub client: reqwest::Client,
    shutdown: common::CancellationToken,
}

impl Served {
    /// Serves `service` until the returned value is dropped.
    pub fn start(service: common::server::Service) -> Self {
        let port = service.port();
        let shutdown = common::CancellationToken::new();
        tokio::spawn(service.run_until_stopped(shutdown.clone()));
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: reqwest::Client::new(),
            shutdown,
        }
    }

    /// The URL of `path` on the service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request to `path` with `user`'s token.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        user: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token(user))
    }

    /// `GET path` as `user`: the status and the JSON body (`null` when there is none).
    pub async fn get_json(&self, user: &str, path: &str) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::GET, path, user)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Stops serving (as dropping does), for a test that restarts the service.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Sends a request and reads its JSON body, failing the test on a transport error or a body
/// that is not the JSON asked for.
pub trait SendJson {
    /// `send().await.unwrap().json().await.unwrap()`.
    fn send_json<T: serde::de::DeserializeOwned>(self) -> impl Future<Output = T> + Send;
}

impl SendJson for reqwest::RequestBuilder {
    async fn send_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.send().await.unwrap().json().await.unwrap()
    }
}

/// A pending task of `user` titled `title`, version 1, as backend-api would publish it.
pub fn task(user: &str, title: &str) -> common::tasks::Task {
    let now = chrono::Utc::now();
    common::tasks::Task {
        id: Uuid::now_v7(),
        user_id: user.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        status: common::tasks::TaskStatus::Pending,
        priority: common::tasks::Priority::Medium,
        tags: vec![],
        due_date: None,
        reminder_at: None,
        recurring_rule: None,
        recurring_mode: common::tasks::RecurringMode::Schedule,
        recurring_end_date: None,
        timezone: "UTC".to_owned(),
        parent_task_id: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        version: 1,
    }
}

/// A token for `user`, valid for an hour, signed with [`SECRET`].
pub fn token(user: &str) -> String {
    common::auth::mint_hs256(SECRET, user, Duration::from_secs(3600)).unwrap()
}

/// Polls `check` until it returns `Some`, failing the test after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Asserts the docs/contract.md §4 error shape and returns the code.
pub fn error_code(body: &Value) -> String {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"));
    assert!(
        body["error"]["message"].is_string(),
        "error without message: {body}"
    );
    code.to_owned()
}

/// A loopback port bound but not listening: connections to it are refused (a sidecar that is
/// down), and no other process can take the port until the test starts a server on it.
pub struct ReservedPort {
    socket: tokio::net::TcpSocket,
    /// The reserved port.
    pub port: u16,
}

/// Reserves a free loopback port; see [`ReservedPort`].
pub fn reserve_port() -> ReservedPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    ReservedPort { socket, port }
}

impl ReservedPort {
    /// Starts listening on the reserved port, for a server that takes a bound socket (such as
    /// `dev_sidecar::start_with_listeners`).
    pub fn into_listener(self) -> std::net::TcpListener {
        self.socket.listen(1024).unwrap().into_std().unwrap()
    }
}

/// One `pubsub` component on the dev sidecar's in-memory broker.
pub const IN_MEMORY_PUBSUB: &str = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.in-memory\n  version: v1\n  metadata: []\n";

/// A Dapr resources folder of one test, removed when dropped (the dev sidecar reads it once,
/// at start).
pub struct ResourcesDir(std::path::PathBuf);

impl ResourcesDir {
    /// The folder, for `SidecarConfig::resources_dir`.
    pub fn path(&self) -> std::path::PathBuf {
        self.0.clone()
    }
}

impl Drop for ResourcesDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh resources folder holding `yaml` as `components.yaml`.
pub fn resources(yaml: &str) -> ResourcesDir {
    let dir = std::env::temp_dir().join(format!(
        "taskfleet-resources-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("components.yaml"), yaml).unwrap();
    ResourcesDir(dir)
}

/// Marks `user`'s account erased as backend-api's erasure does: its insert notifies every
/// service (common::erased). With `announced` false the table's triggers are off, so nothing
/// is notified: what a service that was not listening at the time misses.
pub async fn mark_erased(pool: &PgPool, user: &str, announced: bool) {
    let mut tx = pool.begin().await.unwrap();
    if !announced {
        sqlx::query("SET LOCAL session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO erased_users (user_id) VALUES ($1)")
        .bind(user)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Waits until `user`'s token is refused (401) at `path` of `served`, as it is once the service
/// heard of the account's erasure; every answer before that must be a 200.
pub async fn refused_once_told(served: &Served, user: &str, path: &str) {
    eventually(Duration::from_secs(10), "the token refused", || async {
        match served.get_json(user, path).await {
            (401, _) => Some(()),
            (200, _) => None,
            (status, body) => panic!("{path}: {status} {body}"),
        }
    })
    .await;
}
