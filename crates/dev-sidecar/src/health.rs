//! App health checks as daprd runs them when `dapr.io/enable-app-health-check` (or
//! `enableAppHealthCheck` in dapr.yaml) is on (docs/dapr-behaviour.md §8.3): `GET <path>` every
//! `interval` with `timeout`; after `threshold` failures in a row the app is unhealthy, and daprd
//! stops delivering to it (messages wait, their retry budget untouched) and pauses its input
//! bindings; one success makes it healthy again. Subscriptions start after the first healthy
//! probe. Without health checks the app counts as healthy all along, so deliveries to an app
//! that is down fail and use up their retries.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::runtime::{AppInstance, Shared};

/// The health-check settings of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHealth {
    /// `app-health-check-path` (default `/healthz`).
    pub path: String,
    /// `app-health-probe-interval` (default 5 s).
    pub interval: Duration,
    /// `app-health-probe-timeout` (default 500 ms).
    pub timeout: Duration,
    /// `app-health-threshold` (default 3).
    pub threshold: u32,
}

impl Default for AppHealth {
    fn default() -> Self {
        Self {
            path: "/healthz".to_owned(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_millis(500),
            threshold: 3,
        }
    }
}

/// Probes the app for as long as the sidecar runs.
pub async fn probe(shared: Arc<Shared>, app: Arc<AppInstance>, health: AppHealth) {
    let url = format!("http://{}{}", app.app_socket(), health.path);
    let mut failures = 0u32;
    loop {
        let healthy = matches!(
            shared.http.get(&url).timeout(health.timeout).send().await,
            Ok(response) if response.status().is_success()
        );
        if healthy {
            failures = 0;
            if !app.healthy.swap(true, Ordering::AcqRel) {
                tracing::info!(app_id = %app.app_id, instance = %app.instance, "app entered healthy status");
            }
        } else {
            failures += 1;
            if failures >= health.threshold && app.healthy.swap(false, Ordering::AcqRel) {
                tracing::warn!(app_id = %app.app_id, instance = %app.instance, failures, "app entered unhealthy status; deliveries and input bindings paused");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(health.interval) => {}
            () = shared.cancel.cancelled() => return,
        }
    }
}
