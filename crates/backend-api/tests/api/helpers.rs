use std::time::Duration;

use backend_api::Settings;
use common::outbox::RelaySettings;
use reqwest::{Method, Response};
use serde_json::Value;
use sqlx::PgPool;

pub use testkit::{SECRET, Served, error_code, free_port, fresh_database, token};

pub struct TestApp {
    /// Keeps the sidecar port of [`spawn_app`] refusing connections: nobody else can take it.
    _sidecar: Option<testkit::ReservedPort>,
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
    let sidecar = testkit::reserve_port();
    let mut app = spawn_app_with_sidecar(sidecar.port).await;
    app._sidecar = Some(sidecar);
    app
}

pub async fn spawn_app_with_sidecar(dapr_port: u16) -> TestApp {
    let (pool, database_url) = fresh_database().await;
    spawn_app_on(pool, database_url, dapr_port).await
}

pub use testkit::service_settings as settings;

pub async fn spawn_app_on(pool: PgPool, database_url: String, dapr_port: u16) -> TestApp {
    let relay = RelaySettings {
        poll_interval: Duration::from_millis(200),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..RelaySettings::default()
    };
    // `Settings::new`: nothing from this process's environment (`ASSISTANT_*`, `MCP_*`,
    // `LIMIT_*`) reaches the service under test.
    let settings = Settings {
        relay,
        ..Settings::new(settings(&database_url, dapr_port))
    };
    let application = backend_api::build(settings).await.unwrap();
    serve(application, pool)
}

/// Runs a built backend until the [`TestApp`] is dropped.
fn serve(application: common::server::Service, pool: PgPool) -> TestApp {
    TestApp {
        _sidecar: None,
        served: Served::start(application),
        pool,
    }
}

/// Like [`spawn_app`] with settings changed by `configure` (the assistant's provider, a fixed
/// clock).
pub async fn spawn_app_with(configure: impl FnOnce(Settings) -> Settings) -> TestApp {
    let (pool, database_url) = fresh_database().await;
    let settings = configure(Settings::new(settings(&database_url, free_port())));
    let application = backend_api::build(settings).await.unwrap();
    serve(application, pool)
}

impl TestApp {
    pub async fn create(&self, user: &str, body: Value) -> Response {
        self.request(Method::POST, "/api/tasks", user)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn create_ok(&self, user: &str, body: Value) -> Value {
        let response = self.create(user, body).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        response.json().await.unwrap()
    }

    /// Completes `task` (as created: its `id`) as `user`; the completion must succeed.
    pub async fn complete_ok(&self, user: &str, task: &Value) -> Value {
        let id = task["id"].as_str().unwrap();
        let response = self
            .request(Method::POST, &format!("/api/tasks/{id}/complete"), user)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
        response.json().await.unwrap()
    }

    pub async fn outbox_topics(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT topic FROM outbox ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

/// The titles of a list of tasks (a page's `items`, a tool's `tasks`), sorted.
pub fn sorted_titles(tasks: &Value) -> Vec<String> {
    let mut titles: Vec<String> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}
