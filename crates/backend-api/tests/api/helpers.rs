use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use backend_api::startup::{BuildOptions, build_with_options, build_with_pool};
use common::CancellationToken;
use common::auth::AuthSettings;
use common::config::ServiceSettings;
use common::outbox::RelaySettings;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub fn base_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, migrated database for one test.
pub async fn fresh_database() -> (PgPool, String) {
    let base = base_database_url();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/taskfleet_test_{}", Uuid::new_v4().simple());
    common::db::ensure_database(&url).await.unwrap();
    let pool = common::db::connect(&url, 20).await.unwrap();
    common::db::MIGRATOR.run(&pool).await.unwrap();
    (pool, url)
}

/// A port nothing listens on (yet): the sidecar is "down" until a test starts one there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct TestApp {
    /// Keeps the sidecar port of [`spawn_app`] refusing connections: nobody else can take it.
    _sidecar: Option<testkit::ReservedPort>,
    pub address: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
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

pub fn settings(database_url: &str, dapr_port: u16) -> ServiceSettings {
    ServiceSettings {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        dapr_http_port: dapr_port,
        dapr_api_token: None,
        app_api_token: None,
        database_url: database_url.to_owned(),
        database_max_connections: 20,
        auth: AuthSettings {
            jwt_secret: Some(SECRET.to_owned()),
            jwks_url: None,
        },
    }
}

pub async fn spawn_app_on(pool: PgPool, database_url: String, dapr_port: u16) -> TestApp {
    let relay = RelaySettings {
        poll_interval: Duration::from_millis(200),
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..RelaySettings::default()
    };
    let application = build_with_pool(settings(&database_url, dapr_port), pool.clone(), relay)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { application.run_until_stopped(stop).await });
    TestApp {
        _sidecar: None,
        address,
        pool,
        client: reqwest::Client::new(),
        shutdown,
    }
}

/// Like [`spawn_app`] with explicit build options (the assistant's provider, a fixed clock).
pub async fn spawn_app_with(options: BuildOptions) -> TestApp {
    let (pool, database_url) = fresh_database().await;
    let application =
        build_with_options(settings(&database_url, free_port()), pool.clone(), options)
            .await
            .unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { application.run_until_stopped(stop).await });
    TestApp {
        _sidecar: None,
        address,
        pool,
        client: reqwest::Client::new(),
        shutdown,
    }
}

pub fn token(user: &str) -> String {
    common::auth::mint_hs256(SECRET, user, Duration::from_secs(3600)).unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str, user: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token(user))
    }

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

    pub async fn get_json(&self, user: &str, path: &str) -> (u16, Value) {
        let response = self.request(Method::GET, path, user).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn outbox_topics(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT topic FROM outbox ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

/// Asserts the SPEC §4 error shape and returns the code.
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
