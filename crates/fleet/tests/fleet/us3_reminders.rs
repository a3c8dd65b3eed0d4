//! US3: a reminder set 3 s ahead produces exactly one notification and one `reminder-due`
//! event with two notification instances running; completing the task first cancels it.

use std::time::{Duration, Instant};
use testkit::SendJson;

use fleet::Fleet;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{eventually, request, seconds_from_now, start_fleet_with_replicas, token};

const USER: &str = "us3-user";

async fn create_with_reminder(fleet: &Fleet, title: &str, reminder_at: &str) -> String {
    let response = request(fleet, "backend-api", Method::POST, "/api/tasks", USER)
        .json(&json!({ "title": title, "reminder_at": reminder_at }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let task: Value = response.json().await.unwrap();
    task["id"].as_str().unwrap().to_owned()
}

async fn notifications(fleet: &Fleet) -> Vec<Value> {
    let page: Value = request(
        fleet,
        "notification",
        Method::GET,
        "/api/notifications",
        USER,
    )
    .send_json()
    .await;
    page["items"].as_array().unwrap().clone()
}

fn reminder_due_messages(fleet: &Fleet, task_id: &str) -> usize {
    fleet
        .sidecar()
        .published()
        .iter()
        .filter(|m| m.topic == "reminder-due" && m.envelope["data"]["data"]["task_id"] == task_id)
        .count()
}

#[tokio::test]
async fn a_reminder_three_seconds_ahead_fires_once_with_two_replicas_and_a_completed_task_never_fires()
 {
    let fleet = start_fleet_with_replicas(&["notification"]).await;
    // The user's open device, collecting every push it gets.
    let ws = fleet.app_port("websocket").unwrap();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{ws}/ws?token={}", token(USER)))
            .await
            .unwrap();
    let pushes = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let collected = pushes.clone();
    let reader = tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(Ok(message)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                collected
                    .lock()
                    .unwrap()
                    .push(serde_json::from_str(&text).unwrap());
            }
        }
    });
    let started = Instant::now();
    let reminder_at = seconds_from_now(&fleet, 3.0).await;
    let reminded = create_with_reminder(&fleet, "call the dentist", &reminder_at).await;
    let completed = create_with_reminder(&fleet, "already done", &reminder_at).await;
    let path = format!("/api/tasks/{completed}/complete");
    let response = request(&fleet, "backend-api", Method::POST, &path, USER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let fired = eventually(Duration::from_secs(15), "the notification", || async {
        let items = notifications(&fleet).await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(fired[0]["task_id"], reminded.as_str());
    let early: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE created_at < reminder_at")
            .fetch_one(fleet.pool())
            .await
            .unwrap();
    assert_eq!(early, 0, "fired before its time");
    eventually(
        Duration::from_secs(10),
        "the reminder-due event",
        || async { (reminder_due_messages(&fleet, &reminded) > 0).then_some(()) },
    )
    .await;

    // Past the reminder time plus a margin: both replicas had every chance to (double-)fire.
    let margin = Duration::from_secs(5).saturating_sub(started.elapsed());
    tokio::time::sleep(margin).await;
    let items = notifications(&fleet).await;
    assert_eq!(items.len(), 1, "exactly one notification: {items:?}");
    assert_eq!(reminder_due_messages(&fleet, &reminded), 1);
    assert_eq!(reminder_due_messages(&fleet, &completed), 0);
    let reminder_pushes: Vec<Value> = pushes
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "reminder.due")
        .cloned()
        .collect();
    assert_eq!(
        reminder_pushes.len(),
        1,
        "exactly one reminder.due push: {reminder_pushes:?}"
    );
    assert_eq!(reminder_pushes[0]["task_id"], reminded.as_str());
    assert_eq!(reminder_pushes[0]["task"]["title"], "call the dentist");
    reader.abort();
    let message = fleet
        .sidecar()
        .published()
        .into_iter()
        .find(|m| m.topic == "reminder-due")
        .unwrap();
    assert_eq!(message.partition_key.as_deref(), Some(USER));
    assert_eq!(message.envelope["type"], "com.taskfleet.reminder-due.v1");
    assert_eq!(
        message.envelope["data"]["data"]["notification_id"],
        items[0]["id"]
    );
    fleet.stop().await;
}
