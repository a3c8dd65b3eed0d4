//! US1: every open device of a user sees a change at once; nobody else sees it.

use std::time::Duration;
use testkit::SendJson;

use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::helpers::{next_message, request, start_fleet, token};

#[tokio::test]
async fn us1_two_sockets_of_a_user_receive_a_created_task_and_another_users_socket_receives_nothing()
 {
    let fleet = start_fleet().await;
    let ws = fleet.app_port("websocket").unwrap();
    let connect = |query: String| async move {
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/ws{query}")).await
    };
    let (mut phone, _) = connect(format!("?token={}", token("alice"))).await.unwrap();
    // The second device uses a ticket, as the browser does.
    let ticket: Value = request(
        &fleet,
        "websocket",
        Method::POST,
        "/api/realtime/ticket",
        "alice",
    )
    .send_json()
    .await;
    let (mut laptop, _) = connect(format!("?token={}", ticket["ticket"].as_str().unwrap()))
        .await
        .unwrap();
    let (mut bob, _) = connect(format!("?token={}", token("bob"))).await.unwrap();
    for refused in ["".to_owned(), "?user_id=alice".to_owned()] {
        match connect(refused.clone()).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 401, "{refused}"),
            other => panic!("{refused} was not refused: {:?}", other.map(|_| ())),
        }
    }

    // Subscriptions start once the sidecar has read /dapr/subscribe; the first event may have to
    // wait for that, which the generous deadline covers.
    let created: Value = request(&fleet, "backend-api", Method::POST, "/api/tasks", "alice")
        .json(&json!({"title": "seen everywhere"}))
        .send_json()
        .await;
    for socket in [&mut phone, &mut laptop] {
        let message = next_message(socket, Duration::from_secs(10))
            .await
            .expect("no push");
        assert_eq!(message["type"], "task.created");
        assert_eq!(message["task_id"], created["id"]);
        assert_eq!(message["version"], 1);
        assert_eq!(message["task"]["title"], "seen everywhere");
    }
    // Bob's first push is his own change: alice's never reached him.
    request(&fleet, "backend-api", Method::POST, "/api/tasks", "bob")
        .json(&json!({"title": "bob's"}))
        .send()
        .await
        .unwrap();
    let message = next_message(&mut bob, Duration::from_secs(10))
        .await
        .expect("no push for bob");
    assert_eq!(message["task"]["title"], "bob's");
    fleet.stop().await;
}
