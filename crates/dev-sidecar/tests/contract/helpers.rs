//! A recording "test app" on port 0, a way to start the dev sidecar from inline YAML, and
//! polling with a deadline instead of sleeps.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use dev_sidecar::{AppSpec, DeliveryPolicy, DevSidecar, SidecarConfig};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PUBSUB: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
  metadata: []
"#;

/// Short backoffs keep the retry tests fast; 2 retries = 3 attempts.
pub fn fast_policy() -> DeliveryPolicy {
    DeliveryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
    /// The CloudEvent id of a delivery.
    pub fn event_id(&self) -> Option<String> {
        serde_json::from_slice::<Value>(&self.body)
            .ok()?
            .get("id")?
            .as_str()
            .map(str::to_owned)
    }
}

/// What the app answers: status and body, given the request and how many times this exact
/// request (path + body) has been received, counting this one.
pub type Responder = Arc<dyn Fn(&Recorded, usize) -> (u16, String) + Send + Sync>;

pub fn reply(status: u16, body: &str) -> Responder {
    let body = body.to_owned();
    Arc::new(move |_, _| (status, body.clone()))
}

#[derive(Clone)]
struct AppState {
    recorded: Arc<Mutex<Vec<Recorded>>>,
    subscribe: Arc<(u16, String)>,
    responder: Responder,
}

pub struct TestApp {
    pub port: u16,
    state: AppState,
    stop: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl TestApp {
    /// `subscriptions` is the JSON array returned by `GET /dapr/subscribe` with 200.
    pub async fn start(subscriptions: Value, responder: Responder) -> Self {
        Self::start_with(0, (200, subscriptions.to_string()), responder).await
    }

    pub async fn start_with(port: u16, subscribe: (u16, String), responder: Responder) -> Self {
        let state = AppState {
            recorded: Arc::default(),
            subscribe: Arc::new(subscribe),
            responder,
        };
        let mut app = Self {
            port,
            state,
            stop: None,
        };
        app.listen().await;
        app
    }

    async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.port = listener.local_addr().unwrap().port();
        let router = Router::new()
            .fallback(handle)
            .with_state(self.state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        self.stop = Some((tx, task));
    }

    /// Closes the port (the app is "down"); `restart` opens the same port again.
    pub async fn stop(&mut self) {
        if let Some((tx, task)) = self.stop.take() {
            let _ = tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    pub async fn restart(&mut self) {
        self.listen().await;
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.state.recorded.lock().unwrap().clone()
    }

    pub fn received_at(&self, path: &str) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path() == "/dapr/subscribe" && method == Method::GET {
        let (status, body) = state.subscribe.as_ref().clone();
        state.recorded.lock().unwrap().push(Recorded {
            method,
            path: uri.path().to_owned(),
            query: None,
            headers,
            body: Bytes::new(),
        });
        return (StatusCode::from_u16(status).unwrap(), body).into_response();
    }
    let record = Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    };
    let nth = {
        let mut recorded = state.recorded.lock().unwrap();
        recorded.push(record.clone());
        recorded
            .iter()
            .filter(|r| r.path == record.path && r.body == record.body)
            .count()
    };
    let (status, body) = (state.responder)(&record, nth);
    (StatusCode::from_u16(status).unwrap(), body).into_response()
}

/// Writes `yaml` into a fresh resources folder.
pub fn resources(yaml: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dev-sidecar-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("components.yaml"), yaml).unwrap();
    dir
}

pub fn app(app_id: &str, app_port: u16) -> AppSpec {
    AppSpec {
        app_id: app_id.to_owned(),
        instance: format!("{app_id}-0"),
        pod_name: Some(format!("{app_id}-0")),
        app_address: std::net::IpAddr::from([127, 0, 0, 1]),
        health: None,
        app_port,
        sidecar_port: 0,
        app_api_token: None,
        dapr_api_token: None,
    }
}

/// Health checks that notice a stopped app within ~50 ms (daprd's are 5 s × 3 by default).
pub fn quick_health() -> dev_sidecar::AppHealth {
    dev_sidecar::AppHealth {
        interval: Duration::from_millis(25),
        timeout: Duration::from_millis(200),
        threshold: 1,
        ..dev_sidecar::AppHealth::default()
    }
}

/// Stops the app and waits until the sidecar's health checks have seen it (deliveries pause).
pub async fn stop_until_unhealthy(sidecar: &DevSidecar, instance: &str, test_app: &mut TestApp) {
    test_app.stop().await;
    eventually(Duration::from_secs(5), "the app seen unhealthy", || async {
        (!sidecar.app_healthy(instance)).then_some(())
    })
    .await;
}

pub async fn start_sidecar(yaml: &str, apps: Vec<AppSpec>) -> DevSidecar {
    start_with_policy(yaml, apps, Some(fast_policy())).await
}

/// Retries as daprd would with these resources: only what their `kind: Resiliency` says.
pub async fn start_sidecar_as_daprd(yaml: &str, apps: Vec<AppSpec>) -> DevSidecar {
    start_with_policy(yaml, apps, None).await
}

async fn start_with_policy(
    yaml: &str,
    apps: Vec<AppSpec>,
    delivery: Option<DeliveryPolicy>,
) -> DevSidecar {
    let resources_dir = resources(yaml);
    let sidecar = dev_sidecar::start(SidecarConfig {
        resources_dir: resources_dir.clone(),
        apps,
        delivery,
        ..SidecarConfig::default()
    })
    .await
    .unwrap();
    // Resources are read once at start, as daprd does; the folder is no longer needed.
    std::fs::remove_dir_all(resources_dir).unwrap();
    sidecar
}

pub fn url(sidecar: &DevSidecar, app_id: &str, path: &str) -> String {
    format!(
        "http://127.0.0.1:{}{path}",
        sidecar.sidecar_port(app_id).unwrap()
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Polls `probe` until it yields a value, failing the test after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the app's sidecar reports `count` subscriptions (start-up has read them).
pub async fn wait_subscribed(sidecar: &DevSidecar, app_id: &str, count: usize) {
    let client = client();
    let url = url(sidecar, app_id, "/v1.0/metadata");
    eventually(Duration::from_secs(5), "subscriptions", || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let metadata: Value = client.get(url).send().await.ok()?.json().await.ok()?;
            let n = metadata["subscriptions"].as_array()?.len();
            (n >= count).then_some(())
        }
    })
    .await;
}

/// Publishes a JSON body; asserts 204.
pub async fn publish_json(
    sidecar: &DevSidecar,
    app_id: &str,
    topic: &str,
    query: &str,
    body: &Value,
) {
    let response = client()
        .post(url(
            sidecar,
            app_id,
            &format!("/v1.0/publish/pubsub/{topic}{query}"),
        ))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "publish to {topic}");
}

pub fn subscription(topic: &str, route: &str, dead_letter: Option<&str>) -> Value {
    let mut sub = serde_json::json!({"pubsubname": "pubsub", "topic": topic, "route": route});
    if let Some(dlq) = dead_letter {
        sub["deadLetterTopic"] = dlq.into();
    }
    sub
}

/// A port nothing listens on (bound once, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
