//! `dev-sidecar`: a development stand-in for Dapr's `daprd`, implementing the subset of the
//! Dapr HTTP API that the taskfleet services use, faithfully to
//! docs/dapr-behaviour.md:
//!
//! * publish (`/v1.0/publish/...`) with Dapr's CloudEvent envelope rules,
//! * programmatic (`GET /dapr/subscribe`) and declarative subscriptions, delivery as
//!   `POST /<route>` with Dapr's headers and reply table (SUCCESS / RETRY / DROP, 404 = drop),
//!   the inbound retries of the resources' `kind: Resiliency`, dead-letter topics and the
//!   component's own redelivery (Kafka), per-app consumer groups,
//! * state (`/v1.0/state/...`) on real Redis (Dapr's hash layout and scripts) or in memory,
//! * cron input bindings, service invocation between registered apps, health and metadata.
//!
//! It reads the same component YAML as real Dapr from a resources folder. One process plays
//! the sidecar of every registered app, and all of them share one in-memory broker, the way
//! several `daprd`s share one Kafka. **Messages live in memory only**: they survive an app
//! restart (they wait and are delivered when the app returns) but not a restart of the dev
//! sidecar. It is a laptop and CI tool, not a production broker; production runs `daprd`.
//!
//! Besides the Dapr API, every sidecar port serves `GET /dev/messages?topic=<t>&limit=<n>`:
//! the most recent published envelopes (newest last), to watch the event flow. With an API
//! token configured, that endpoint needs the token like every other one.

mod breaker;
mod broker;
mod bulk;
mod bulk_publish;
mod components;
mod cron;
mod delivery;
mod envelope;
mod health;
mod init;
mod invoke;
mod resiliency;
mod runtime;
mod server;
mod startup;
mod state;
mod state_api;
mod subscriptions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

pub use broker::{BACKLOG_LIMIT, PublishedMessage, RETAINED_ACKNOWLEDGED};
pub use delivery::DeliveryPolicy;
pub use health::AppHealth;
pub use init::{Environment, KubernetesSecrets, Mode, load_kubernetes_secrets};

use components::ComponentKind;
use runtime::{AppInstance, Shared};
use state::{MemoryBackend, StateStore};

/// One app (instance) the dev sidecar serves.
#[derive(Debug, Clone)]
pub struct AppSpec {
    pub app_id: String,
    /// Distinguishes replicas of one app-id (fault hooks name instances).
    pub instance: String,
    /// The pod's name (`POD_NAME`, set by the injector on Kubernetes): what `{podName}` in
    /// component metadata resolves to. Without it a component using `{podName}` stops the
    /// sidecar, as daprd stops.
    pub pod_name: Option<String>,
    /// Where the app listens.
    pub app_port: u16,
    /// The app's address (daprd's `--app-channel-address`): 127.0.0.1 unless the app runs
    /// elsewhere, e.g. in its own network namespace.
    pub app_address: IpAddr,
    /// The sidecar HTTP port for this app; 0 picks a free one.
    pub sidecar_port: u16,
    /// App health checks (daprd's `enable-app-health-check`); `None`: off, as daprd's default.
    pub health: Option<AppHealth>,
    /// When set, sent as the `dapr-api-token` header on every call to the app (daprd's
    /// `APP_API_TOKEN`).
    pub app_api_token: Option<String>,
    /// When set, every call to this sidecar's API must carry it as `dapr-api-token`, except
    /// `GET /v1.0/healthz` and `GET /v1.0/healthz/outbound` (daprd's `DAPR_API_TOKEN`).
    pub dapr_api_token: Option<String>,
}

impl AppSpec {
    /// An app on `app_port`, its sidecar on a free port, no tokens, no pod name.
    pub fn new(app_id: &str, app_port: u16) -> Self {
        Self {
            app_id: app_id.to_owned(),
            instance: app_id.to_owned(),
            pod_name: None,
            app_port,
            app_address: IpAddr::from([127, 0, 0, 1]),
            health: None,
            sidecar_port: 0,
            app_api_token: None,
            dapr_api_token: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SidecarConfig {
    /// Folder with Dapr resource YAML (components, subscriptions).
    pub resources_dir: PathBuf,
    pub apps: Vec<AppSpec>,
    /// `None` (as daprd) retries failed deliveries as the resources' `kind: Resiliency` says,
    /// and not at all without one; `Some` fixes one policy for every delivery (tests).
    pub delivery: Option<DeliveryPolicy>,
    /// Standalone or Kubernetes mode, the Secrets of the built-in `kubernetes` store, host
    /// aliases.
    pub environment: Environment,
    /// The topics that exist on the broker when it does not create topics on first use
    /// (Redpanda's default): a publish to any other topic fails with 500
    /// `ERR_PUBSUB_PUBLISH_MESSAGE`, as Kafka answers "unknown topic or partition". `None`:
    /// every topic exists (a broker that auto-creates, or Redis Streams).
    pub broker_topics: Option<BTreeSet<String>>,
    /// The address every sidecar port listens on (daprd's `--dapr-listen-addresses`); `None`:
    /// 127.0.0.1.
    pub listen_address: Option<IpAddr>,
}

/// The running sidecars; dropping it without `shutdown` leaves the tasks running.
pub struct DevSidecar {
    shared: Arc<Shared>,
}

/// Loads the resources, binds one HTTP server per app and starts each app's start-up sequence
/// (wait for the app port, read its subscriptions, start cron bindings) in the background.
pub async fn start(config: SidecarConfig) -> anyhow::Result<DevSidecar> {
    start_with_listeners(config, HashMap::new()).await
}

/// Like [`start`], serving the instances named in `listeners` (by [`AppSpec::instance`]) on
/// sockets the caller bound already. A caller that must tell a service its sidecar port before
/// the sidecar starts binds port 0 itself and hands the socket over, so no other process can
/// take the port in between.
pub async fn start_with_listeners(
    config: SidecarConfig,
    mut listeners_by_instance: HashMap<String, std::net::TcpListener>,
) -> anyhow::Result<DevSidecar> {
    let listen_address = config
        .listen_address
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let mut resources = components::load_resources(&config.resources_dir)?;
    init::initialise(&mut resources, &config.apps, &config.environment)?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;

    let mut memory_stores: HashMap<String, Arc<MemoryBackend>> = HashMap::new();
    let mut listeners = Vec::new();
    let mut apps = Vec::new();
    for spec in &config.apps {
        let listener = match listeners_by_instance.remove(&spec.instance) {
            Some(bound) => {
                bound.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(bound)?
            }
            None => tokio::net::TcpListener::bind((listen_address, spec.sidecar_port))
                .await
                .with_context(|| {
                    format!(
                        "binding the sidecar port {} for {}",
                        spec.sidecar_port, spec.app_id
                    )
                })?,
        };
        let sidecar_port = listener.local_addr()?.port();
        let mut state_stores = BTreeMap::new();
        for component in resources.components.iter().filter(|c| {
            matches!(
                c.kind,
                ComponentKind::StateRedis | ComponentKind::StateMemory
            ) && c.visible_to(&spec.app_id)
        }) {
            let memory = memory_stores
                .entry(component.name.clone())
                .or_default()
                .clone();
            let store = StateStore::new(component, &spec.app_id, spec.pod_name.as_deref(), memory)?;
            state_stores.insert(component.name.clone(), store);
        }
        apps.push(Arc::new(AppInstance {
            app_id: spec.app_id.clone(),
            instance: spec.instance.clone(),
            pod_name: spec.pod_name.clone(),
            app_port: spec.app_port,
            app_address: spec.app_address,
            health: spec.health.clone(),
            healthy: AtomicBool::new(spec.health.is_none()),
            sidecar_address: listener.local_addr()?.ip(),
            sidecar_port,
            api_token: spec.app_api_token.clone(),
            dapr_api_token: spec.dapr_api_token.clone(),
            ready: AtomicBool::new(false),
            subscriptions: Mutex::new(Vec::new()),
            state_stores,
            server_stop: Mutex::new(None),
            serving: AtomicBool::new(true),
        }));
        listeners.push(listener);
    }

    let shared = Arc::new(Shared::new(
        http,
        config.delivery.as_ref().map(DeliveryPolicy::retry_policy),
        resources,
        apps,
        config.broker_topics.clone(),
    ));
    for (app, listener) in shared.apps.iter().zip(listeners) {
        tracing::info!(app_id = %app.app_id, instance = %app.instance, sidecar_port = app.sidecar_port, app_port = app.app_port, "dev sidecar listening");
        server::serve(&shared, app.clone(), listener);
        let (shared2, app2) = (shared.clone(), app.clone());
        shared.spawn(async move { startup::run(shared2, app2).await });
    }
    Ok(DevSidecar { shared })
}

impl DevSidecar {
    /// The sidecar HTTP port of the first instance of `app_id`.
    pub fn sidecar_port(&self, app_id: &str) -> Option<u16> {
        self.shared
            .instances_of(app_id)
            .next()
            .map(|a| a.sidecar_port)
    }

    /// The newest messages accepted by a publish (including dead-letter re-publishes), in
    /// order: at most the last 2 000.
    pub fn published(&self) -> Vec<PublishedMessage> {
        self.shared.broker.published()
    }

    /// Messages the broker still holds in its partition logs: those some consumer group has
    /// not acknowledged yet, the newest [`RETAINED_ACKNOWLEDGED`] others per partition, and the
    /// newest of logs nobody reads.
    pub fn retained_messages(&self) -> usize {
        self.shared.broker.retained()
    }

    /// Fault injection: stops the sidecar of app instance `instance` (its port refuses
    /// connections and its app gets no deliveries) while the broker keeps every message, as
    /// when that one daprd is down. Returns once the port is closed.
    pub async fn stop_sidecar(&self, instance: &str) -> anyhow::Result<()> {
        let app = self.instance(instance)?;
        app.serving.store(false, Ordering::Release);
        if let Some(stop) = lock(&app.server_stop).take() {
            stop.cancel();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect((app.sidecar_address, app.sidecar_port))
            .await
            .is_ok()
        {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the sidecar of {instance} did not close its port"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Starts the sidecar of `instance` again on its old port (after [`Self::stop_sidecar`]).
    pub async fn start_sidecar(&self, instance: &str) -> anyhow::Result<()> {
        let app = self.instance(instance)?.clone();
        let listener = tokio::net::TcpListener::bind((app.sidecar_address, app.sidecar_port))
            .await
            .with_context(|| format!("binding the sidecar port of {instance} again"))?;
        server::serve(&self.shared, app, listener);
        Ok(())
    }

    /// Fault injection: every delivery attempt from now on is sent `copies` times at once, as
    /// a consumer-group rebalance or a redelivery after a lost acknowledgement would.
    pub fn set_duplicate_deliveries(&self, copies: u32) {
        self.shared
            .duplicates
            .store(copies.max(1), Ordering::Release);
    }

    /// Whether the sidecar of `instance` currently counts its app as healthy (always, without
    /// health checks).
    pub fn app_healthy(&self, instance: &str) -> bool {
        self.instance(instance)
            .is_ok_and(|app| app.healthy.load(Ordering::Acquire))
    }

    /// Sets how many unacknowledged messages the broker holds before it refuses publishes
    /// (default [`BACKLOG_LIMIT`]).
    pub fn set_backlog_limit(&self, messages: u64) {
        self.shared.backlog_limit.store(messages, Ordering::Release);
    }

    fn instance(&self, instance: &str) -> anyhow::Result<&Arc<AppInstance>> {
        self.shared
            .apps
            .iter()
            .find(|a| a.instance == instance)
            .with_context(|| format!("no app instance {instance}"))
    }

    /// Stops the servers, delivery loops and cron bindings. In-flight requests get a short
    /// grace period; anything still running after it is aborted.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        let tasks = self.shared.take_tasks();
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        let all = futures::future::join_all(tasks);
        if tokio::time::timeout(Duration::from_secs(3), all)
            .await
            .is_err()
        {
            tracing::warn!("some dev sidecar tasks did not stop in time; aborting them");
            for abort in aborts {
                abort.abort();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
