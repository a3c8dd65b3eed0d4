//! The per-app start-up sequence of daprd (docs/dapr-behaviour.md §8.2): wait for the app port,
//! read the app's subscriptions once, join the consumer groups, start the cron bindings.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::broker::{GroupKey, Member};
use crate::components::ComponentKind;
use crate::runtime::{AppInstance, Shared};
use crate::subscriptions::{self, SubscriptionJson};

const PORT_POLL: Duration = Duration::from_millis(100);
/// Like daprd's built-in initialization retries: a few tries when the call cannot connect.
const SUBSCRIBE_TRIES: u32 = 3;

pub async fn run(shared: Arc<Shared>, app: Arc<AppInstance>) {
    let mut logged = false;
    loop {
        if tokio::net::TcpStream::connect((app.app_address, app.app_port))
            .await
            .is_ok()
        {
            break;
        }
        if !logged {
            tracing::info!(app_id = %app.app_id, app_port = app.app_port, "waiting for the application to listen on its port");
            logged = true;
        }
        tokio::select! {
            () = tokio::time::sleep(PORT_POLL) => {}
            () = shared.cancel.cancelled() => return,
        }
    }
    app.ready.store(true, Ordering::Release);
    if let Some(health) = app.health.clone() {
        let (shared2, app2) = (shared.clone(), app.clone());
        shared.spawn(async move { crate::health::probe(shared2, app2, health).await });
        // daprd starts the subscriptions and bindings after the first healthy probe.
        while !app.healthy.load(Ordering::Acquire) {
            tokio::select! {
                () = tokio::time::sleep(PORT_POLL) => {}
                () = shared.cancel.cancelled() => return,
            }
        }
    }
    tracing::info!(app_id = %app.app_id, instance = %app.instance, "application is listening; reading subscriptions");

    let declarative: Vec<SubscriptionJson> = shared
        .resources
        .subscriptions
        .iter()
        .filter(|s| s.visible_to(&app.app_id))
        .map(|s| s.subscription.clone())
        .collect();
    for subscription in &declarative {
        subscribe(&shared, &app, subscription.clone(), "DECLARATIVE");
    }
    for subscription in discover(&shared, &app).await {
        if declarative
            .iter()
            .any(|d| d.pubsubname == subscription.pubsubname && d.topic == subscription.topic)
        {
            tracing::warn!(app_id = %app.app_id, topic = %subscription.topic, "topic already subscribed declaratively; programmatic subscription ignored");
            continue;
        }
        subscribe(&shared, &app, subscription, "PROGRAMMATIC");
    }
    crate::cron::start(&shared, &app).await;
}

/// `GET /dapr/subscribe`, read once: any answer other than 200 + valid JSON means "no
/// programmatic subscriptions" until the sidecar restarts, as with daprd.
async fn discover(shared: &Shared, app: &AppInstance) -> Vec<SubscriptionJson> {
    let url = format!("http://{}/dapr/subscribe", app.app_socket());
    let mut tries = 0;
    let response = loop {
        tries += 1;
        let mut request = shared
            .http
            .get(&url)
            .header("dapr-app-id", &app.app_id)
            .header("content-type", "application/json")
            .timeout(Duration::from_secs(10));
        if let Some(token) = &app.api_token {
            request = request.header("dapr-api-token", token);
        }
        match request.send().await {
            Ok(response) => break response,
            Err(error) if tries < SUBSCRIBE_TRIES => {
                tracing::warn!(app_id = %app.app_id, %error, "GET /dapr/subscribe failed; retrying");
                tokio::time::sleep(Duration::from_millis(500) * tries).await;
            }
            Err(error) => {
                tracing::error!(app_id = %app.app_id, %error, "GET /dapr/subscribe failed; no programmatic subscriptions");
                return Vec::new();
            }
        }
    };
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        tracing::debug!(app_id = %app.app_id, "app did not subscribe to any topic");
        return Vec::new();
    }
    if status != reqwest::StatusCode::OK {
        tracing::error!(app_id = %app.app_id, %status, "GET /dapr/subscribe did not answer 200; no programmatic subscriptions");
        return Vec::new();
    }
    let body = response.bytes().await.unwrap_or_default();
    match subscriptions::parse_programmatic(&body) {
        Ok(list) => list,
        Err(error) => {
            tracing::error!(app_id = %app.app_id, %error, "GET /dapr/subscribe returned invalid JSON; no programmatic subscriptions");
            Vec::new()
        }
    }
}

fn subscribe(
    shared: &Arc<Shared>,
    app: &AppInstance,
    subscription: SubscriptionJson,
    kind: &'static str,
) {
    if !subscription.has_route() {
        tracing::warn!(app_id = %app.app_id, topic = %subscription.topic, "subscription has no route; removed");
        return;
    }
    let Some(component) = shared
        .components_for(&app.app_id, ComponentKind::PubSub)
        .find(|c| c.name == subscription.pubsubname)
    else {
        tracing::warn!(app_id = %app.app_id, pubsub = %subscription.pubsubname, topic = %subscription.topic, "subscription names a pubsub this app does not have; ignored");
        return;
    };
    let meta = |name: &str| {
        component
            .meta(name, &app.app_id, app.pod_name.as_deref())
            .filter(|v| !v.is_empty())
    };
    // Kafka semantics: consumerGroup wins, then consumerID, which the runtime defaults to the app-id.
    let group = meta("consumerGroup")
        .or_else(|| meta("consumerID"))
        .unwrap_or_else(|| app.app_id.clone());
    let start_at_newest = meta("initialOffset").is_some_and(|v| v.eq_ignore_ascii_case("newest"));
    let key = GroupKey {
        pubsub: subscription.pubsubname.clone(),
        topic: subscription.topic.clone(),
        group: group.clone(),
    };
    let member = Member {
        app_id: app.app_id.clone(),
        instance: app.instance.clone(),
        app_port: app.app_port,
        app_address: app.app_address,
        api_token: app.api_token.clone(),
        subscription: subscription.clone(),
    };
    tracing::info!(app_id = %app.app_id, instance = %app.instance, pubsub = %key.pubsub, topic = %key.topic, %group, kind, "subscribed");
    if let Some((group, offsets)) = shared.broker.join(key, member, start_at_newest) {
        crate::delivery::start_group(shared, group, offsets);
    }
    app.subscriptions
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((subscription, kind));
}
