use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{SECRET, error_code, spawn_app};

#[tokio::test]
async fn another_users_task_answers_404_everywhere_and_never_appears_in_lists() {
    let app = spawn_app().await;
    let task = app
        .create_ok("alice", json!({"title": "private", "tags": ["secret"]}))
        .await;
    let id = task["id"].as_str().unwrap();
    let attempts = [
        (Method::GET, format!("/api/tasks/{id}"), None),
        (
            Method::PATCH,
            format!("/api/tasks/{id}"),
            Some(json!({"title": "mine now"})),
        ),
        (Method::DELETE, format!("/api/tasks/{id}"), None),
        (Method::POST, format!("/api/tasks/{id}/complete"), None),
        (Method::POST, format!("/api/tasks/{id}/reopen"), None),
    ];
    for (method, path, body) in attempts {
        let mut request = app.request(method.clone(), &path, "mallory");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert_eq!(error_code(&response.json().await.unwrap()), "not_found");
    }
    let (_, page) = app.get_json("mallory", "/api/tasks?q=private").await;
    assert_eq!(page["items"], json!([]));
    let (_, tags) = app.get_json("mallory", "/api/tags").await;
    assert_eq!(tags, json!([]));
    let (status, still) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(
        (status, still["title"].as_str(), still["version"].as_i64()),
        (200, Some("private"), Some(1))
    );
    assert_eq!(app.outbox_topics().await, vec!["task-created"]);
}

fn sign(header: serde_json::Value, claims: serde_json::Value, secret: &str) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{head}.{body}");
    let signature = hmac_sha256(secret.as_bytes(), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// HMAC-SHA256 by the RFC 2104 construction, so tests can forge tokens jsonwebtoken would
/// refuse to mint (no `exp`, no `sub`).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let inner: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let inner_hash = Sha256::digest(&inner);
    let outer: Vec<u8> = block
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner_hash.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

#[tokio::test]
async fn unsigned_forged_expired_and_subjectless_tokens_get_401_with_a_json_error() {
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(json!({"sub": "alice", "exp": now + 600}).to_string())
    );
    let cases = [
        ("alg none", unsigned),
        (
            "wrong key",
            sign(
                hs.clone(),
                json!({"sub": "alice", "exp": now + 600}),
                "another-secret-another-secret-012345",
            ),
        ),
        (
            "expired",
            sign(
                hs.clone(),
                json!({"sub": "alice", "exp": now - 600}),
                SECRET,
            ),
        ),
        (
            "not yet valid",
            sign(
                hs.clone(),
                json!({"sub": "alice", "exp": now + 600, "nbf": now + 300}),
                SECRET,
            ),
        ),
        (
            "no sub",
            sign(hs.clone(), json!({"exp": now + 600}), SECRET),
        ),
        (
            "empty sub",
            sign(hs.clone(), json!({"sub": "", "exp": now + 600}), SECRET),
        ),
        ("no exp", sign(hs.clone(), json!({"sub": "alice"}), SECRET)),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (name, token) in cases {
        let response = app
            .client
            .get(format!("{}/api/tasks", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(
            error_code(&response.json().await.unwrap()),
            "unauthorized",
            "{name}"
        );
    }
    let response = app
        .client
        .get(format!("{}/api/tasks", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no token");
    // The forger's helper is right: a well-signed token passes.
    let good = sign(hs, json!({"sub": "alice", "exp": now + 600}), SECRET);
    let response = app
        .client
        .get(format!("{}/api/tasks", app.address))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let minted = common::auth::mint_hs256(SECRET, "alice", Duration::from_secs(60)).unwrap();
    let response = app
        .client
        .get(format!("{}/api/tasks", app.address))
        .bearer_auth(&minted)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn internal_routes_need_the_app_token_when_one_is_configured_and_a_user_jwt_does_not_open_them()
 {
    let (pool, url) = crate::helpers::fresh_database().await;
    let mut settings = crate::helpers::settings(&url, crate::helpers::free_port());
    settings.app_api_token = Some("sidecar-token".into());
    drop(pool);
    let application = backend_api::build(backend_api::Settings::new(settings))
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}/dapr/subscribe", application.port());
    let stop = common::CancellationToken::new();
    tokio::spawn(application.run_until_stopped(stop.clone()));
    let client = reqwest::Client::new();
    let denied = client
        .get(&address)
        .bearer_auth(crate::helpers::token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(error_code(&denied.json().await.unwrap()), "unauthorized");
    let wrong = client
        .get(&address)
        .header("dapr-api-token", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let allowed = client
        .get(&address)
        .header("dapr-api-token", "sidecar-token")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    stop.cancel();
}
