use std::time::Duration;

use common::delivery::BulkSubscribe;
use common::events::EventType;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use testkit::SendJson;
use tokio_tungstenite::tungstenite::Message;
use websocket::RealtimeSettings;

use crate::helpers::{next_json, spawn_app, spawn_app_with, task, task_event, token};

#[tokio::test]
async fn every_connection_of_a_user_receives_a_task_event_and_another_user_receives_nothing() {
    let app = spawn_app().await;
    let mut first = app.connect_as("alice").await;
    let mut second = app.connect_as("alice").await;
    let mut bob = app.connect_as("bob").await;
    let created = task("alice", "buy milk");
    let reply = app
        .deliver(
            "task-created",
            &task_event(EventType::TaskCreated, &created),
        )
        .await;
    assert_eq!(reply, json!({"status": "SUCCESS"}));
    for socket in [&mut first, &mut second] {
        let message = next_json(socket, Duration::from_secs(5)).await.unwrap();
        assert_eq!(message["type"], "task.created");
        assert_eq!(message["task_id"], created.id.to_string());
        assert_eq!(message["version"], 1);
        assert_eq!(message["task"]["title"], "buy milk");
        assert_eq!(
            message["task"]["id"],
            created.id.to_string(),
            "the task in its REST shape"
        );
        assert_eq!(message["task"]["version"], 1);
        assert!(message["event_id"].is_string());
    }
    // Bob's first message is his own event: alice's never reached him.
    let his = task("bob", "bob's task");
    app.deliver("task-updated", &task_event(EventType::TaskUpdated, &his))
        .await;
    let message = next_json(&mut bob, Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (message["type"].as_str(), message["task"]["title"].as_str()),
        (Some("task.updated"), Some("bob's task"))
    );
}

#[tokio::test]
async fn the_same_event_delivered_twice_is_pushed_once() {
    let app = spawn_app().await;
    let mut socket = app.connect_as("alice").await;
    let event = task_event(EventType::TaskCompleted, &task("alice", "once"));
    app.deliver("task-completed", &event).await;
    app.deliver("task-completed", &event).await;
    let later = task_event(EventType::TaskDeleted, &task("alice", "later"));
    app.deliver("task-deleted", &later).await;
    assert_eq!(
        next_json(&mut socket, Duration::from_secs(5))
            .await
            .unwrap()["type"],
        "task.completed"
    );
    assert_eq!(
        next_json(&mut socket, Duration::from_secs(5))
            .await
            .unwrap()["type"],
        "task.deleted",
        "the duplicate was pushed"
    );
}

#[tokio::test]
async fn an_event_that_reached_no_one_is_pushed_when_redelivered_after_its_user_connects() {
    let app = spawn_app().await;
    let event = task_event(EventType::TaskCreated, &task("erin", "while away"));
    assert_eq!(
        app.deliver("task-created", &event).await,
        json!({"status": "SUCCESS"}),
        "acknowledged with no connection of erin's here"
    );
    let mut socket = app.connect_as("erin").await;
    app.deliver("task-created", &event).await;
    let message = next_json(&mut socket, Duration::from_secs(5))
        .await
        .expect("the redelivery was taken for a duplicate of a push that reached no one");
    assert_eq!(message["task"]["title"], "while away");
}

#[tokio::test]
async fn events_published_on_pubsub_reach_sockets_through_the_broadcast_subscription() {
    let app = spawn_app().await;
    let mut socket = app.connect_as("carol").await;
    let created = task("carol", "via the broker");
    let envelope: Value =
        serde_json::from_str(&task_event(EventType::TaskCreated, &created)).unwrap();
    let dapr = common::dapr::DaprClient::new(app.backend_sidecar_port, None);
    // The sidecar reads /dapr/subscribe after the app port opens; retry until it listens.
    let message = loop {
        dapr.publish_cloudevent("pubsub", "task-created", &envelope, "carol")
            .await
            .unwrap();
        if let Some(message) = next_json(&mut socket, Duration::from_millis(500)).await {
            break message;
        }
    };
    assert_eq!(message["task"]["title"], "via the broker");
}

#[tokio::test]
async fn a_due_reminder_is_pushed_as_reminder_due() {
    let app = spawn_app().await;
    let mut socket = app.connect_as("alice").await;
    let reminder = json!({
        "specversion": "1.0", "id": "r-1", "source": "notification", "type": "com.taskfleet.reminder-due.v1",
        "datacontenttype": "application/json",
        "data": {"event_id": "r-1", "event_type": "reminder-due", "schema_version": 1, "timestamp": "2026-11-26T10:00:00Z",
                 "user_id": "alice", "actor": "notification", "task_version": 3,
                 "data": {"task_id": "0190d6a8-0000-7000-8000-000000000001", "title": "call mum", "reminder_at": "2026-11-26T10:00:00Z"}}
    });
    assert_eq!(
        app.deliver("reminder-due", &reminder.to_string()).await,
        json!({"status": "SUCCESS"})
    );
    let message = next_json(&mut socket, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(message["type"], "reminder.due");
    assert_eq!(message["task"]["title"], "call mum");
    assert_eq!(message["task_id"], "0190d6a8-0000-7000-8000-000000000001");
}

#[tokio::test]
async fn events_that_can_never_be_pushed_are_dropped_not_retried() {
    let app = spawn_app().await;
    for body in [
        "not json",
        "{}",
        r#"{"data": {"event_id": "x", "event_type": "task-exploded", "user_id": "a"}}"#,
        r#"{"data": {"event_id": "x", "event_type": "task-created", "user_id": ""}}"#,
    ] {
        assert_eq!(
            app.deliver("task-created", body).await,
            json!({"status": "DROP"}),
            "{body}"
        );
    }
}

#[tokio::test]
async fn sse_streams_pushes_and_replays_what_followed_last_event_id() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    // Keep a WebSocket open so the user's replay buffer exists while SSE is disconnected.
    let _keep = app.connect_as("dave").await;
    let response = client
        .get(app.http(&format!("/api/sse?token={}", token("dave"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let events: Vec<String> = (0..3)
        .map(|n| task_event(EventType::TaskCreated, &task("dave", &format!("t{n}"))))
        .collect();
    app.deliver("task-created", &events[0]).await;
    let mut text = String::new();
    while !text.contains("\n\n") {
        text.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    let first_id = text
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .to_owned();
    assert!(text.contains("\"t0\""));
    drop(body);
    // Missed while disconnected, then replayed after Last-Event-ID.
    app.deliver("task-created", &events[1]).await;
    app.deliver("task-created", &events[2]).await;
    let response = client
        .get(app.http(&format!("/api/sse?token={}", token("dave"))))
        .header("last-event-id", &first_id)
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut text = String::new();
    while text.matches("\n\n").count() < 2 {
        text.push_str(&String::from_utf8_lossy(
            &body.next().await.unwrap().unwrap(),
        ));
    }
    let (t1, t2) = (text.find("\"t1\"").unwrap(), text.find("\"t2\"").unwrap());
    assert!(t1 < t2 && !text.contains("\"t0\""), "{text}");
    // An id that is no longer buffered asks the client to re-sync.
    let response = client
        .get(app.http(&format!("/api/sse?token={}", token("dave"))))
        .header("last-event-id", "gone")
        .send()
        .await
        .unwrap();
    let chunk = String::from_utf8_lossy(&response.bytes_stream().next().await.unwrap().unwrap())
        .to_string();
    assert!(chunk.contains("resync"), "{chunk}");
}

#[tokio::test]
async fn sockets_get_heartbeat_pings_and_are_closed_with_1001_on_shutdown() {
    let app = spawn_app_with(RealtimeSettings {
        heartbeat: Duration::from_millis(100),
        ..RealtimeSettings::default()
    })
    .await;
    let mut socket = app.connect_as("alice").await;
    let ping = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Ok(Message::Ping(_))) = socket.next().await {
                return;
            }
        }
    })
    .await;
    assert!(ping.is_ok(), "no heartbeat");
    app.shutdown.cancel();
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(close, Some(1001));
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.handle).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "the service did not stop cleanly"
    );
}

#[tokio::test]
async fn a_client_message_larger_than_the_limit_ends_that_connection_only() {
    let app = spawn_app().await;
    let mut flooder = app.connect_as("alice").await;
    let mut other = app.connect_as("alice").await;
    let oversized = "x".repeat(websocket::MAX_CLIENT_MESSAGE + 1);
    flooder.send(Message::Text(oversized.into())).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match flooder.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the replica kept a connection that sent an oversized message"
    );

    // The user's other connection still gets pushes.
    let created = task("alice", "still here");
    app.deliver(
        "task-created",
        &task_event(EventType::TaskCreated, &created),
    )
    .await;
    let push = next_json(&mut other, Duration::from_secs(5)).await;
    assert_eq!(push.unwrap()["task_id"], created.id.to_string());
}

#[tokio::test]
async fn a_bulk_delivery_pushes_each_event_and_answers_each_entry() {
    let app = spawn_app().await;
    let mut socket = app.connect_as("alice").await;
    let first = task("alice", "first of the batch");
    let second = task("alice", "second of the batch");
    let event = |t| serde_json::from_str::<Value>(&task_event(EventType::TaskCreated, t)).unwrap();
    let batch = json!({
        "id": "batch-1", "type": "com.dapr.event.sent.bulk", "topic": "task-created",
        "pubsubname": "pubsub-broadcast", "metadata": {},
        "entries": [
            {"entryId": "0", "event": event(&first), "metadata": {}, "contentType": "application/cloudevents+json"},
            {"entryId": "1", "event": {"not": "an event"}, "metadata": {}, "contentType": "application/cloudevents+json"},
            {"entryId": "2", "event": event(&second), "metadata": {}, "contentType": "application/cloudevents+json"}
        ]
    });
    let reply: Value = reqwest::Client::new()
        .post(app.http("/events/task-created"))
        .json(&batch)
        .send_json()
        .await;
    assert_eq!(
        reply,
        json!({"statuses": [
            {"entryId": "0", "status": "SUCCESS"},
            {"entryId": "1", "status": "DROP"},
            {"entryId": "2", "status": "SUCCESS"}
        ]})
    );
    for expected in [&first, &second] {
        let push = next_json(&mut socket, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(push["task_id"], expected.id.to_string());
    }
}

#[tokio::test]
async fn with_batching_the_subscriptions_ask_for_bulk_and_published_events_still_reach_sockets() {
    let batching = BulkSubscribe {
        enabled: true,
        max_messages_count: 10,
        max_await_duration_ms: 20,
    };
    let app = spawn_app_with(RealtimeSettings {
        batching: Some(batching),
        ..RealtimeSettings::default()
    })
    .await;
    let mut socket = app.connect_as("carol").await;
    let dapr = common::dapr::DaprClient::new(app.backend_sidecar_port, None);
    let tasks: Vec<_> = (0..3)
        .map(|n| task("carol", &format!("batched {n}")))
        .collect();
    // The sidecar reads /dapr/subscribe after the app port opens; publish until it listens.
    let mut pushed = Vec::new();
    while pushed.len() < tasks.len() {
        for created in &tasks {
            let envelope: Value =
                serde_json::from_str(&task_event(EventType::TaskCreated, created)).unwrap();
            dapr.publish_cloudevent("pubsub", "task-created", &envelope, "carol")
                .await
                .unwrap();
        }
        while let Some(message) = next_json(&mut socket, Duration::from_millis(500)).await {
            pushed.push(message["task"]["title"].as_str().unwrap().to_owned());
        }
    }
    pushed.sort();
    assert_eq!(
        pushed,
        ["batched 0", "batched 1", "batched 2"],
        "each event pushed once"
    );
    let subscribed: Value = reqwest::Client::new()
        .get(app.http("/dapr/subscribe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        subscribed
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["topic"] != "user-deleted")
            .all(|s| s["bulkSubscribe"]
                == json!({"enabled": true, "maxMessagesCount": 10, "maxAwaitDurationMs": 20}))
    );
}

#[tokio::test]
async fn a_deleted_account_is_told_on_every_connection_and_they_close_while_others_stay() {
    let app = spawn_app().await;
    let mut first = app.connect_as("alice").await;
    let mut second = app.connect_as("alice").await;
    let mut bob = app.connect_as("bob").await;
    let issued = crate::connect::issue_ticket(&app, "alice").await;
    let ticket = issued["ticket"].as_str().unwrap().to_owned();
    let deleted = common::events::UserDeleted::new("alice", None);
    let body = serde_json::to_string(&common::events::CloudEvent::for_user_deleted(
        "backend-api",
        deleted,
        None,
    ))
    .unwrap();
    assert_eq!(
        app.deliver("user-deleted", &body).await,
        json!({"status": "SUCCESS"})
    );
    for socket in [&mut first, &mut second] {
        let message = next_json(socket, Duration::from_secs(5)).await.unwrap();
        assert_eq!(message, json!({"type": "account.deleted"}));
        let close = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Close(frame))) => return frame,
                    Some(Ok(_)) => continue,
                    other => panic!("no close frame: {other:?}"),
                }
            }
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(u16::from(close.code), 1000);
        assert_eq!(close.reason.as_str(), "account deleted");
    }
    // Bob's connection is untouched and still receives his events.
    let created = task("bob", "still here");
    app.deliver(
        "task-created",
        &task_event(EventType::TaskCreated, &created),
    )
    .await;
    let message = next_json(&mut bob, Duration::from_secs(5)).await.unwrap();
    assert_eq!(message["task"]["title"], "still here");
    // From then on her token, and a ticket she was given before, open nothing here.
    let status_of = crate::connect::status_of;
    assert_eq!(
        status_of(app.connect(&format!("?token={ticket}")).await),
        401
    );
    let jwt = format!("?token={}", token("alice"));
    assert_eq!(status_of(app.connect(&jwt).await), 401);
    let response = reqwest::Client::new()
        .post(app.http("/api/realtime/ticket"))
        .bearer_auth(token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    app.connect_as("bob").await;
    // Not a user-deleted event: dropped.
    assert_eq!(
        app.deliver("user-deleted", "{}").await,
        json!({"status": "DROP"})
    );
}
