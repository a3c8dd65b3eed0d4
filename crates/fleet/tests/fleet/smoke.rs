use std::time::{Duration, Instant};
use testkit::SendJson;

use common::auth::AuthSettings;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SECRET, eventually, request, start_fleet};

#[tokio::test]
async fn the_fleet_creates_its_database_serves_every_service_and_publishes_task_events() {
    let fleet = start_fleet().await;
    let client = reqwest::Client::new();
    for ports in &fleet.ports {
        let url = format!("http://127.0.0.1:{}/readyz", ports.app_port);
        let started = Instant::now();
        loop {
            let status = client.get(&url).send().await.unwrap().status();
            if status == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{} not ready: {status}",
                ports.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let api = format!(
        "http://127.0.0.1:{}",
        fleet.app_port("backend-api").unwrap()
    );
    let task: Value = request(&fleet, "backend-api", Method::POST, "/api/tasks", "alice")
        .json(&json!({"title": "through the fleet"}))
        .send_json()
        .await;
    let message = eventually(Duration::from_secs(5), "the task-created event", || async {
        fleet
            .sidecar()
            .published()
            .into_iter()
            .find(|m| m.topic == "task-created")
    })
    .await;
    assert_eq!(message.envelope["data"]["data"]["task_id"], task["id"]);
    let stopping = Instant::now();
    fleet.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(10));
    assert!(
        client.get(format!("{api}/healthz")).send().await.is_err(),
        "still serving after stop"
    );
}

#[test]
fn fleet_token_prints_a_jwt_for_the_user_signed_with_jwt_secret() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["token", "alice", "1"])
        .env("JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let verifier = common::auth::JwtVerifier::new(&AuthSettings {
        jwt_secret: Some(SECRET.into()),
        jwks_url: None,
        ..Default::default()
    });
    let claims = runtime.block_on(verifier.verify(token.trim())).unwrap();
    assert_eq!(claims.sub, "alice");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["token"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
