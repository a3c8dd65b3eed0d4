use std::time::Duration;
use testkit::SendJson;

use tokio_tungstenite::tungstenite::Error as WsError;

use crate::helpers::{SECRET, spawn_app, token};

pub fn status_of(result: Result<crate::helpers::Socket, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => 101,
    }
}

#[tokio::test]
async fn sockets_without_a_valid_token_are_refused_with_401_before_the_upgrade() {
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = common::auth::mint_hs256_with_exp(SECRET, "alice", now - 600).unwrap();
    for query in [
        "".to_owned(),
        "?user_id=alice".to_owned(),
        "?token=".to_owned(),
        "?token=not.a.jwt".to_owned(),
        format!("?token={expired}"),
        format!("?token={}", "ab".repeat(32)),
        "?user_id=alice&token=zzz".to_owned(),
    ] {
        assert_eq!(status_of(app.connect(&query).await), 401, "{query}");
    }
    // The refusal is a JSON error, like every API error.
    let response = reqwest::get(app.http("/ws?user_id=alice")).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
    let response = reqwest::get(app.http("/api/sse")).await.unwrap();
    assert_eq!(response.status(), 401);
    // A valid token still needs a real upgrade request.
    let response = reqwest::get(app.http(&format!("/ws?token={}", token("alice"))))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        status_of(app.connect(&format!("?token={}", token("alice"))).await),
        101
    );
}

#[tokio::test]
async fn a_ticket_opens_exactly_one_connection_and_only_for_its_user() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let issued = issue_ticket(&app, "alice").await;
    let ticket = issued["ticket"].as_str().unwrap().to_owned();
    assert_eq!(issued["expires_in"], 60);
    let mut socket = app.connect(&format!("?token={ticket}")).await.unwrap();
    assert_eq!(
        status_of(app.connect(&format!("?token={ticket}")).await),
        401,
        "a ticket is single use"
    );
    // The ticket's connection belongs to alice: her events arrive, bob's do not.
    let bob = crate::helpers::task("bob", "bob's");
    let alice = crate::helpers::task("alice", "alice's");
    app.deliver(
        "task-created",
        &crate::helpers::task_event(common::events::EventType::TaskCreated, &bob),
    )
    .await;
    app.deliver(
        "task-created",
        &crate::helpers::task_event(common::events::EventType::TaskCreated, &alice),
    )
    .await;
    let first = crate::helpers::next_json(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(first["task"]["title"], "alice's");
    let no_token = client
        .post(app.http("/api/realtime/ticket"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
}

#[tokio::test]
async fn a_ticket_redeemed_concurrently_opens_exactly_one_stream() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let issued = issue_ticket(&app, "alice").await;
        let ticket = issued["ticket"].as_str().unwrap().to_owned();
        let attempts = (0..10).map(|_| {
            client
                .get(app.http(&format!("/api/sse?token={ticket}")))
                .send()
        });
        let statuses: Vec<u16> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.unwrap().status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "one ticket, one stream: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 401),
            "{statuses:?}"
        );
    }
}

pub async fn issue_ticket(app: &crate::helpers::TestApp, user: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(app.http("/api/realtime/ticket"))
        .bearer_auth(token(user))
        .send_json()
        .await
}
