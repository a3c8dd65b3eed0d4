use std::time::Duration;

use backend_api::assistant::AssistantSettings;
use common::auth::AuthSettings;
use fleet::{DEFAULT_PORTS, Fleet, FleetConfig, ServicePorts};
use futures::StreamExt;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

pub use testkit::eventually;

pub const SECRET: &str = "fleet-test-secret-fleet-test-secret-0123";

/// A fleet on free ports against a fresh database.
pub async fn start_fleet() -> Fleet {
    start_fleet_with_replicas(&[]).await
}

/// Like [`start_fleet`], with a second instance of each service named in `extra`.
pub async fn start_fleet_with_replicas(extra: &[&str]) -> Fleet {
    Fleet::start(fleet_config(extra)).await.unwrap()
}

/// Like [`start_fleet`], with backend-api's assistant on `assistant`'s provider.
pub async fn start_fleet_with_assistant(assistant: AssistantSettings) -> Fleet {
    let mut config = fleet_config(&[]);
    config.assistant = Some(assistant);
    Fleet::start(config).await.unwrap()
}

/// The configuration of a test fleet: free ports, a fresh database, quick redelivery.
pub fn fleet_config(extra: &[&str]) -> FleetConfig {
    let mut ports: Vec<ServicePorts> = DEFAULT_PORTS
        .iter()
        .map(|p| ServicePorts {
            app_port: 0,
            sidecar_port: 0,
            ..*p
        })
        .collect();
    for name in extra {
        let template = *ports.iter().find(|p| p.name == *name).unwrap();
        ports.push(template);
    }
    FleetConfig {
        database_url: testkit::test_database_url(),
        database_url_of: Default::default(),
        auth: AuthSettings {
            jwt_secret: Some(SECRET.into()),
            jwks_url: None,
            ..Default::default()
        },
        resources_dir: fleet::default_resources_dir(),
        ports,
        host: "127.0.0.1".parse().unwrap(),
        delivery: Some(dev_sidecar::DeliveryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
        }),
        // dapr.yaml's health checks, probing faster so a stopped service is seen in 0.5 s.
        app_health: Some(dev_sidecar::AppHealth {
            interval: Duration::from_millis(250),
            threshold: 2,
            ..dev_sidecar::AppHealth::default()
        }),
        assistant: None,
        app_api_token: fleet::random_token(),
        dapr_api_token: fleet::random_token(),
    }
}

pub fn token(user: &str) -> String {
    common::auth::mint_hs256(SECRET, user, Duration::from_secs(3600)).unwrap()
}

/// A request to `service` of `fleet` as `user`.
pub fn request(
    fleet: &Fleet,
    service: &str,
    method: Method,
    path: &str,
    user: &str,
) -> RequestBuilder {
    let port = fleet
        .app_port(service)
        .unwrap_or_else(|| panic!("no {service} in the fleet"));
    reqwest::Client::new()
        .request(method, format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token(user))
}

/// A WebSocket client of the websocket service.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message within `wait`; `None` on timeout or close.
pub async fn next_message(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?
        {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// RFC 3339 (UTC) for `secs` seconds from now, by the database clock every service shares.
pub async fn seconds_from_now(fleet: &Fleet, secs: f64) -> String {
    sqlx::query_scalar(
        "SELECT to_char((clock_timestamp() + make_interval(secs => $1)) AT TIME ZONE 'UTC', \
         'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    )
    .bind(secs)
    .fetch_one(fleet.pool())
    .await
    .unwrap()
}
