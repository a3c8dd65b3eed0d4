//! fleet end to end: the dev sidecar and all five services in one process against a fresh
//! database, driven over real HTTP.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use common::auth::AuthSettings;
use fleet::{DEFAULT_PORTS, Fleet, FleetConfig, ServicePorts};
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "fleet-test-secret-fleet-test-secret-0123";

async fn start_fleet() -> Fleet {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let config = FleetConfig {
        database_url: format!("{prefix}/taskfleet_test_{}", Uuid::new_v4().simple()),
        auth: AuthSettings {
            jwt_secret: Some(SECRET.to_owned()),
            jwks_url: None,
        },
        resources_dir: fleet::default_resources_dir(),
        ports: DEFAULT_PORTS
            .iter()
            .map(|p| ServicePorts {
                app_port: 0,
                sidecar_port: 0,
                ..*p
            })
            .collect(),
        host: "127.0.0.1".parse().unwrap(),
        delivery: Default::default(),
    };
    Fleet::start(config).await.unwrap()
}

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
    let token = common::auth::mint_hs256(SECRET, "alice", Duration::from_secs(60)).unwrap();
    let task: Value = client
        .post(format!("{api}/api/tasks"))
        .bearer_auth(&token)
        .json(&json!({"title": "through the fleet"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = Instant::now();
    while fleet.sidecar().published().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "event not published"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let message = &fleet.sidecar().published()[0];
    assert_eq!(message.topic, "task-created");
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
        jwt_secret: Some(SECRET.to_owned()),
        jwks_url: None,
    });
    let claims = runtime.block_on(verifier.verify(token.trim())).unwrap();
    assert_eq!(claims.sub, "alice");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args(["token"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
