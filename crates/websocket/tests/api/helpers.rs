use std::time::Duration;
use testkit::SendJson;

use common::CancellationToken;
use common::events::{Actor, CloudEvent, EventType, TaskEvent};
use common::tasks::Task;
use dev_sidecar::{AppSpec, DevSidecar, SidecarConfig};
use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use websocket::RealtimeSettings;

pub use testkit::{SECRET, free_port, task, token};

pub struct TestApp {
    pub port: u16,
    pub _sidecar: DevSidecar,
    pub backend_sidecar_port: u16,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

const COMPONENTS: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - {name: redisHost, value: "127.0.0.1:6379"}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub-broadcast}
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - {name: redisHost, value: "127.0.0.1:6379"}
    - {name: consumerID, value: "{podName}"}
scopes: [websocket]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec:
  type: state.redis
  version: v1
  metadata:
    - {name: redisHost, value: "127.0.0.1:6379"}
"#;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(RealtimeSettings {
        heartbeat: Duration::from_secs(25),
        ..RealtimeSettings::default()
    })
    .await
}

pub async fn spawn_app_with(realtime: RealtimeSettings) -> TestApp {
    let sidecar = testkit::reserve_port();
    let sidecar_port = sidecar.port;
    // websocket has no database: the URL is never used.
    let settings = testkit::service_settings("postgres://unused", sidecar_port);
    let settings = websocket::Settings {
        realtime,
        ..websocket::Settings::new(settings)
    };
    let service = websocket::build(settings).await.unwrap();
    let port = service.port();
    let resources = testkit::resources(COMPONENTS);
    // Unique app ids per test keep Redis keys apart; the topic logs are in memory per sidecar.
    let backend_sidecar = testkit::reserve_port();
    let backend_sidecar_port = backend_sidecar.port;
    let listeners = std::collections::HashMap::from([
        (format!("ws-{port}"), sidecar.into_listener()),
        ("api".to_owned(), backend_sidecar.into_listener()),
    ]);
    let sidecar = dev_sidecar::start_with_listeners(
        SidecarConfig {
            resources_dir: resources.path(),
            apps: vec![
                AppSpec {
                    instance: format!("ws-{port}"),
                    pod_name: Some(format!("ws-{port}")),
                    sidecar_port,
                    ..AppSpec::new("websocket", port)
                },
                AppSpec {
                    instance: "api".into(),
                    sidecar_port: backend_sidecar_port,
                    ..AppSpec::new("backend-api", free_port())
                },
            ],
            ..SidecarConfig::default()
        },
        listeners,
    )
    .await
    .unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(service.run_until_stopped(shutdown.clone()));
    TestApp {
        port,
        _sidecar: sidecar,
        backend_sidecar_port,
        shutdown,
        handle,
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl TestApp {
    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn connect(
        &self,
        query: &str,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws{query}", self.port))
            .await
            .map(|(socket, _)| socket)
    }

    pub async fn connect_as(&self, user: &str) -> Socket {
        self.connect(&format!("?token={}", token(user)))
            .await
            .unwrap()
    }

    /// Delivers a CloudEvent to the service exactly as the sidecar does.
    pub async fn deliver(&self, topic: &str, body: &str) -> Value {
        reqwest::Client::new()
            .post(self.http(&format!("/events/{topic}")))
            .header("content-type", "application/cloudevents+json")
            .body(body.to_owned())
            .send_json()
            .await
    }
}

pub fn task_event(event_type: EventType, task: &Task) -> String {
    let event = TaskEvent::new(event_type, Actor::User, task, None, None);
    serde_json::to_string(&CloudEvent::for_task_event("backend-api", event, None)).unwrap()
}

/// The next JSON text message, skipping pings; `None` if nothing arrives within `wait`.
pub async fn next_json(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return Some(serde_json::from_str(&text).unwrap()),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}
