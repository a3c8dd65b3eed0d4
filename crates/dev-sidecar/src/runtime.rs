//! State shared by every simulated sidecar of the process.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::components::{Component, ComponentKind, Resources};
use crate::resiliency::RetryPolicy;
use crate::state::StateStore;
use crate::subscriptions::SubscriptionJson;

/// One app instance and the sidecar that serves it.
pub struct AppInstance {
    pub app_id: String,
    pub instance: String,
    /// What `{podName}` resolves to (checked at start).
    pub pod_name: Option<String>,
    pub app_port: u16,
    /// Where the app listens (daprd's `--app-channel-address`; 127.0.0.1 by default).
    pub app_address: std::net::IpAddr,
    /// Health checks, when on.
    pub health: Option<crate::health::AppHealth>,
    /// False while health checks say the app is unhealthy (or before their first success):
    /// no deliveries, no cron ticks.
    pub healthy: AtomicBool,
    pub sidecar_port: u16,
    /// The address the sidecar port listens on.
    pub sidecar_address: std::net::IpAddr,
    pub api_token: Option<String>,
    /// Required from callers of this sidecar's API (`DAPR_API_TOKEN`).
    pub dapr_api_token: Option<String>,
    /// Set once the app's port accepted a TCP connection, as daprd's app channel readiness.
    pub ready: AtomicBool,
    /// Subscriptions in effect with their kind (`DECLARATIVE`/`PROGRAMMATIC`), for
    /// `/v1.0/metadata`.
    pub subscriptions: Mutex<Vec<(SubscriptionJson, &'static str)>>,
    pub state_stores: BTreeMap<String, StateStore>,
    /// Stops this sidecar's HTTP server alone ([`crate::DevSidecar::stop_sidecar`]).
    pub server_stop: Mutex<Option<CancellationToken>>,
    /// False while this sidecar is stopped: its port is closed and its app gets no deliveries,
    /// as when one daprd is down while the broker keeps the messages.
    pub serving: AtomicBool,
}

impl AppInstance {
    /// The app's address and port, for URLs.
    pub fn app_socket(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.app_address, self.app_port)
    }
}

pub struct Shared {
    pub broker: Broker,
    /// Concurrent copies of every delivery attempt (fault injection; 1 normally).
    pub duplicates: AtomicU32,
    /// Unacknowledged messages past which publishes are refused ([`crate::broker::BACKLOG_LIMIT`]).
    pub backlog_limit: AtomicU64,
    pub http: reqwest::Client,
    /// Overrides the resources' Resiliency for every delivery (tests).
    pub policy: Option<RetryPolicy>,
    pub cancel: CancellationToken,
    pub resources: Resources,
    pub apps: Vec<Arc<AppInstance>>,
    /// The topics that exist on the broker, when it does not auto-create them.
    pub broker_topics: Option<BTreeSet<String>>,
    /// Inbound circuit breakers by (app instance, component), created on first use.
    breakers: Mutex<std::collections::HashMap<(String, String), crate::breaker::Breaker>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    pub fn new(
        http: reqwest::Client,
        policy: Option<RetryPolicy>,
        resources: Resources,
        apps: Vec<Arc<AppInstance>>,
        broker_topics: Option<BTreeSet<String>>,
    ) -> Self {
        Self {
            broker: Broker::new(&resources.components),
            duplicates: AtomicU32::new(1),
            backlog_limit: AtomicU64::new(crate::broker::BACKLOG_LIMIT as u64),
            http,
            policy,
            cancel: CancellationToken::new(),
            resources,
            apps,
            broker_topics,
            breakers: Mutex::new(std::collections::HashMap::new()),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Background work is tracked so `shutdown` can wait for it and abort stragglers.
    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(future);
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(handle);
    }

    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The components an app may use: Dapr hides out-of-scope components entirely.
    pub fn components_for<'a>(
        &'a self,
        app_id: &'a str,
        kind: ComponentKind,
    ) -> impl Iterator<Item = &'a Component> + 'a {
        self.resources
            .components
            .iter()
            .filter(move |c| c.kind == kind && c.visible_to(app_id))
    }

    /// The inbound retry policy for deliveries of `component` to `app_id`.
    pub fn inbound_retry(&self, app_id: &str, component: &str) -> RetryPolicy {
        match &self.policy {
            Some(policy) => policy.clone(),
            None => self.resources.resiliency.inbound_retry(app_id, component),
        }
    }

    /// Whether the sidecar of app instance `instance` is up and delivers to its app (health
    /// checks, when on, say the app is healthy).
    pub fn serving(&self, instance: &str) -> bool {
        self.apps
            .iter()
            .find(|a| a.instance == instance)
            .is_none_or(|a| a.serving.load(Ordering::Acquire) && a.healthy.load(Ordering::Acquire))
    }

    /// The inbound timeout of deliveries of `component` to `app_id` (its Resiliency target).
    pub fn inbound_timeout(&self, app_id: &str, component: &str) -> Option<std::time::Duration> {
        self.resources.resiliency.inbound_timeout(app_id, component)
    }

    /// Asks the inbound circuit breaker of `component` in `instance`'s sidecar whether a
    /// delivery may go to the app. No breaker: always.
    pub fn breaker_allow(
        &self,
        app_id: &str,
        instance: &str,
        component: &str,
    ) -> Result<(), crate::breaker::Refused> {
        let Some(spec) = self.resources.resiliency.inbound_breaker(app_id, component) else {
            return Ok(());
        };
        let now = tokio::time::Instant::now();
        let mut breakers = self
            .breakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        breakers
            .entry((instance.to_owned(), component.to_owned()))
            .or_insert_with(|| crate::breaker::Breaker::new(spec, now))
            .allow(now)
    }

    /// Tells the inbound circuit breaker (if any) how a delivery it allowed went.
    pub fn breaker_record(&self, instance: &str, component: &str, success: bool) {
        let mut breakers = self
            .breakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(breaker) = breakers.get_mut(&(instance.to_owned(), component.to_owned())) {
            breaker.record(success, tokio::time::Instant::now());
        }
    }

    /// Whether the broker would take a message for `topic` now: Kafka with auto-creation off
    /// refuses a topic nobody created (UNKNOWN_TOPIC_OR_PARTITION), and the in-memory broker
    /// refuses past its backlog bound, as a Kafka producer fails when the broker cannot take more.
    pub fn producible(&self, pubsub: &str, topic: &str) -> Result<(), String> {
        let kafka = self
            .component(pubsub)
            .is_some_and(|c| c.type_name == "pubsub.kafka");
        let exists = self
            .broker_topics
            .as_ref()
            .is_none_or(|topics| topics.contains(topic));
        if kafka && !exists {
            return Err(format!(
                "kafka: Failed to produce message to topic {topic}: {topic}: kafka server: Request was for a topic or partition that does not exist on this broker"
            ));
        }
        let limit = self.backlog_limit.load(Ordering::Acquire);
        let behind = self.broker.backlog(pubsub, topic);
        if behind >= limit {
            return Err(format!(
                "the dev broker holds {behind} messages its consumers have not taken yet (limit {limit})"
            ));
        }
        Ok(())
    }

    /// The component named `name`, if loaded.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.resources.components.iter().find(|c| c.name == name)
    }

    /// Instances of an app-id, first registered first.
    pub fn instances_of<'a>(
        &'a self,
        app_id: &'a str,
    ) -> impl Iterator<Item = &'a Arc<AppInstance>> + 'a {
        self.apps.iter().filter(move |a| a.app_id == app_id)
    }
}
