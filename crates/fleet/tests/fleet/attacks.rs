//! The attack suite (security issue): each attack on the internal trust boundary and on the
//! per-user bounds, run against the whole fleet as an attacker would, asserting that it fails
//! with the right status and leaves no trace in the victim's tasks, audit trail or sockets —
//! and that the legitimate path still works beside it.

use std::time::Duration;
use testkit::SendJson;

use common::events::{Actor, CloudEvent, EventType, TaskEvent};
use common::tasks::{Priority, Task, TaskStatus};
use fleet::Fleet;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{eventually, next_message, request, start_fleet, token};

/// A `task-completed` CloudEvent for `victim`'s made-up daily task, as an attacker would forge
/// it to make recurring create a task of their choosing in the victim's account.
fn forged_completion(victim: &str) -> String {
    forged_completion_of(victim, Uuid::now_v7())
}

/// Like [`forged_completion`], for the task `id`.
fn forged_completion_of(victim: &str, id: Uuid) -> String {
    let now = chrono::Utc::now();
    let task = Task {
        id,
        description: "click http://evil.example".to_owned(),
        status: TaskStatus::Completed,
        priority: Priority::High,
        due_date: Some(now),
        recurring_rule: Some("daily".to_owned()),
        completed_at: Some(now),
        version: 2,
        ..testkit::task(victim, "attacker's task")
    };
    let event = TaskEvent::new(EventType::TaskCompleted, Actor::User, &task, None, None);
    serde_json::to_string(&CloudEvent::for_task_event("backend-api", event, None)).unwrap()
}

fn app_url(fleet: &Fleet, service: &str, path: &str) -> String {
    format!(
        "http://127.0.0.1:{}{path}",
        fleet.app_port(service).unwrap()
    )
}

fn sidecar_url(fleet: &Fleet, service: &str, path: &str) -> String {
    let port = fleet
        .ports
        .iter()
        .find(|p| p.name == service)
        .unwrap()
        .sidecar_port;
    format!("http://127.0.0.1:{port}{path}")
}

async fn list(fleet: &Fleet, service: &str, path: &str, user: &str) -> Vec<Value> {
    let body: Value = request(fleet, service, Method::GET, path, user)
        .send_json()
        .await;
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn forged_deliveries_and_cron_ticks_without_the_app_token_are_refused_and_change_nothing() {
    let fleet = start_fleet().await;
    let ws = fleet.app_port("websocket").unwrap();
    let (mut bobs_tab, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/ws?token={}", token("bob")))
            .await
            .unwrap();
    let forged = forged_completion("bob");
    let targets = [
        ("recurring", "/events/task-completed"),
        ("audit", "/events/task-completed"),
        ("websocket", "/events/task-completed"),
        ("notification", "/reminder-cron"),
    ];
    let client = reqwest::Client::new();
    let bobs_jwt = token("bob");
    let bearer = format!("Bearer {bobs_jwt}");
    for (service, path) in targets {
        let url = app_url(&fleet, service, path);
        // (credential header, value, content type, expected status)
        let attempts = [
            (None, "", "text/plain", 401),
            (None, "", "application/cloudevents+json", 401),
            (
                Some("dapr-api-token"),
                "guessed",
                "application/cloudevents+json",
                403,
            ),
            (
                Some("dapr-api-token"),
                bobs_jwt.as_str(),
                "application/json",
                403,
            ),
            (
                Some("authorization"),
                bearer.as_str(),
                "application/json",
                401,
            ),
        ];
        for (header, value, content_type, expected) in attempts {
            let mut attempt = client
                .post(&url)
                .header("content-type", content_type)
                .body(forged.clone());
            if let Some(header) = header {
                attempt = attempt.header(header, value);
            }
            let response = attempt.send().await.unwrap();
            assert_eq!(
                response.status().as_u16(),
                expected,
                "{service} {path} with {header:?} {content_type}"
            );
        }
        // Subscriptions are internal too: they reveal the routes.
        let listed = client
            .get(app_url(&fleet, service, "/dapr/subscribe"))
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 401, "{service} /dapr/subscribe");
    }

    // The legitimate path beside the attack: bob's own change reaches his audit trail and tab.
    let created = request(&fleet, "backend-api", Method::POST, "/api/tasks", "bob")
        .json(&json!({"title": "bob's own"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let pushed = next_message(&mut bobs_tab, Duration::from_secs(10))
        .await
        .expect("bob's own change is pushed");
    assert_eq!(
        pushed["task"]["title"], "bob's own",
        "the first push is his own: {pushed}"
    );
    eventually(Duration::from_secs(10), "bob's audit entry", || async {
        (list(&fleet, "audit", "/api/audit", "bob").await.len() == 1).then_some(())
    })
    .await;
    let tasks = list(&fleet, "backend-api", "/api/tasks", "bob").await;
    assert_eq!(tasks.len(), 1, "only bob's own task: {tasks:?}");
    assert_eq!(tasks[0]["title"], "bob's own");
    let trail = list(&fleet, "audit", "/api/audit", "bob").await;
    assert_eq!(trail.len(), 1, "no forged entry: {trail:?}");
    assert!(
        next_message(&mut bobs_tab, Duration::from_millis(300))
            .await
            .is_none(),
        "no forged push reached bob's tab"
    );
    fleet.stop().await;
}

#[tokio::test]
async fn with_the_app_token_only_json_deliveries_are_accepted() {
    let fleet = start_fleet().await;
    let client = reqwest::Client::new();
    let created: Value = request(&fleet, "backend-api", Method::POST, "/api/tasks", "bob")
        .json(&json!({"title": "water the plants", "recurring_rule": "daily"}))
        .send_json()
        .await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let deliver = |content_type: &'static str| {
        client
            .post(app_url(&fleet, "recurring", "/events/task-completed"))
            .header("dapr-api-token", fleet.app_api_token())
            .header("content-type", content_type)
            .body(forged_completion_of("bob", id))
            .send()
    };
    // A sidecar never sends text/plain or a form, which is what a cross-site page can send.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        assert_eq!(
            deliver(content_type).await.unwrap().status(),
            415,
            "{content_type}"
        );
    }
    assert_eq!(
        list(&fleet, "backend-api", "/api/tasks", "bob").await.len(),
        1
    );
    // The sidecar's own shape is served: the completion yields the next occurrence.
    let accepted = deliver("application/cloudevents+json").await.unwrap();
    assert_eq!(accepted.status(), 200);
    let reply: Value = accepted.json().await.unwrap();
    assert_eq!(reply["status"], "SUCCESS");
    let tasks = list(&fleet, "backend-api", "/api/tasks", "bob").await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    fleet.stop().await;
}

#[tokio::test]
async fn the_sidecar_api_refuses_callers_without_the_api_token() {
    let fleet = start_fleet().await;
    let client = reqwest::Client::new();
    let ticket = "ab".repeat(32);
    // Forge a real-time ticket for bob in the state store, as a web page could try with a
    // text/plain POST to the sidecar, then spend it to read bob's events.
    let forged_state = json!([{"key": format!("ws-ticket-{ticket}"), "value": {"user_id": "bob"}}]);
    for content_type in ["text/plain", "application/json"] {
        let written = client
            .post(sidecar_url(&fleet, "websocket", "/v1.0/state/statestore"))
            .header("content-type", content_type)
            .body(forged_state.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(written.status(), 401, "state write with {content_type}");
    }
    let ws = fleet.app_port("websocket").unwrap();
    let refused =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/ws?token={ticket}"))
            .await
            .expect_err("the forged ticket opens nothing");
    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other}"),
    }
    for (method, path) in [
        (Method::POST, "/v1.0/publish/pubsub/task-completed"),
        (
            Method::POST,
            "/v1.0/invoke/recurring/method/events/task-completed",
        ),
        (Method::GET, "/v1.0/metadata"),
        (Method::GET, "/dev/messages"),
    ] {
        let response = client
            .request(method.clone(), sidecar_url(&fleet, "backend-api", path))
            .header("content-type", "application/cloudevents+json")
            .body(forged_completion("bob"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    // Health stays open (probes carry no token), and the token opens the rest.
    let health = client
        .get(sidecar_url(&fleet, "backend-api", "/v1.0/healthz/outbound"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 204);
    let messages = client
        .get(sidecar_url(&fleet, "backend-api", "/dev/messages"))
        .header("dapr-api-token", fleet.dapr_api_token())
        .send()
        .await
        .unwrap();
    assert_eq!(messages.status(), 200);
    assert!(
        list(&fleet, "backend-api", "/api/tasks", "bob")
            .await
            .is_empty()
    );
    fleet.stop().await;
}

#[tokio::test]
async fn sub_daily_recurrence_is_refused_before_it_is_stored() {
    let fleet = start_fleet().await;
    for rule in ["FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=1", "FREQ=HOURLY"] {
        let response = request(&fleet, "backend-api", Method::POST, "/api/tasks", "mallory")
            .json(&json!({"title": "spin", "due_date": "1990-01-01T00:00:00Z", "recurring_rule": rule}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{rule}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["details"]["recurring_rule"]
                .as_str()
                .is_some_and(|p| p.contains("at most daily")),
            "{body}"
        );
    }
    assert!(
        list(&fleet, "backend-api", "/api/tasks", "mallory")
            .await
            .is_empty()
    );
    fleet.stop().await;
}

#[tokio::test]
async fn one_user_over_a_budget_gets_429_with_retry_after_while_others_are_served() {
    let fleet = start_fleet().await;
    let parse = |user: &'static str| {
        let fleet = &fleet;
        async move {
            request(fleet, "backend-api", Method::POST, "/api/tasks/parse", user)
                .json(&json!({"text": "buy milk tomorrow"}))
                .send()
                .await
                .unwrap()
        }
    };
    let mut limited = None;
    for _ in 0..200 {
        let response = parse("mallory").await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
    }
    let limited = limited.expect("mallory is limited within 200 parses");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        parse("alice").await.status(),
        200,
        "alice has her own budget"
    );

    // Real-time connections: one user cannot hold more than a replica allows.
    let sse = |user: &str| {
        reqwest::Client::new()
            .get(app_url(
                &fleet,
                "websocket",
                &format!("/api/sse?token={}", token(user)),
            ))
            .send()
    };
    let mut open = Vec::new();
    let mut refused = None;
    for _ in 0..50 {
        let response = sse("mallory").await.unwrap();
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    assert!(
        refused.is_some(),
        "mallory is refused after {} streams",
        open.len()
    );
    assert_eq!(open.len(), 20);
    assert_eq!(sse("alice").await.unwrap().status(), 200);
    drop(open);
    fleet.stop().await;
}
