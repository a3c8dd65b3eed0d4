//! US2: completing a recurring task creates exactly one next occurrence — under redelivery,
//! concurrent redelivery, and reopen + complete again — anchored to the series start
//! (month ends) and at the same local time across DST.

use std::time::Duration;
use testkit::SendJson;

use fleet::Fleet;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{eventually, request, start_fleet};

const USER: &str = "us2-user";
const DEADLINE: Duration = Duration::from_secs(10);

async fn create(fleet: &Fleet, body: Value) -> Value {
    let response = request(fleet, "backend-api", Method::POST, "/api/tasks", USER)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn lifecycle(fleet: &Fleet, id: &Value, verb: &str) {
    let path = format!("/api/tasks/{}/{verb}", id.as_str().unwrap());
    let response = request(fleet, "backend-api", Method::POST, &path, USER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{verb}");
}

/// The caller's tasks whose series root is `root`, by due date.
async fn successors(fleet: &Fleet, root: &Value) -> Vec<Value> {
    let list: Value = request(
        fleet,
        "backend-api",
        Method::GET,
        "/api/tasks?sort=due_date",
        USER,
    )
    .send_json()
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["parent_task_id"] == *root)
        .cloned()
        .collect()
}

/// Waits until the series rooted at `root` has `n` successors.
async fn wait_for_successors(fleet: &Fleet, root: &Value, n: usize) -> Vec<Value> {
    eventually(DEADLINE, &format!("{n} successors"), || async {
        let found = successors(fleet, root).await;
        (found.len() == n).then_some(found)
    })
    .await
}

/// Gives any stray delivery time to land: the sidecar has delivered every `task-completed`
/// published so far (each answered) once recurring's outbox has nothing pending.
async fn settle(fleet: &Fleet) {
    eventually(DEADLINE, "the outbox to drain", || async {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(fleet.pool())
            .await
            .unwrap();
        let handled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM processed_events WHERE consumer = 'recurring'",
        )
        .fetch_one(fleet.pool())
        .await
        .unwrap();
        let completed = fleet
            .sidecar()
            .published()
            .iter()
            .filter(|m| m.topic == "task-completed")
            .count() as i64;
        (pending == 0 && handled == completed).then_some(())
    })
    .await;
}

#[tokio::test]
async fn completing_a_daily_task_creates_exactly_one_next_occurrence_whatever_happens_next() {
    let fleet = start_fleet().await;
    let first = create(
        &fleet,
        json!({"title": "Stand-up", "recurring_rule": "daily", "due_date": "2026-12-01T09:00:00Z",
               "reminder_at": "2026-12-01T08:45:00Z", "tags": ["work"], "priority": "high"}),
    )
    .await;
    let root = first["id"].clone();

    lifecycle(&fleet, &root, "complete").await;
    let next = wait_for_successors(&fleet, &root, 1).await.remove(0);

    assert_eq!(next["status"], "pending");
    assert_eq!(next["due_date"], "2026-12-02T09:00:00Z");
    assert_eq!(next["reminder_at"], "2026-12-02T08:45:00Z");
    assert_eq!(next["title"], "Stand-up");
    assert_eq!(next["tags"], json!(["work"]));
    assert_eq!(next["priority"], "high");
    assert_eq!(next["recurring_rule"], "daily");
    let created = eventually(DEADLINE, "the recurring task-created event", || async {
        fleet.sidecar().published().into_iter().find(|m| {
            m.topic == "task-created" && m.envelope["data"]["data"]["task_id"] == next["id"]
        })
    })
    .await;
    assert_eq!(created.envelope["source"], "recurring");
    assert_eq!(created.envelope["data"]["actor"], "recurring");
    assert_eq!(created.partition_key.as_deref(), Some(USER));

    // The same task-completed CloudEvent delivered five times at once, as a redelivering
    // sidecar would.
    let completed = fleet
        .sidecar()
        .published()
        .into_iter()
        .find(|m| m.topic == "task-completed")
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{}/events/task-completed",
        fleet.app_port("recurring").unwrap()
    );
    let client = reqwest::Client::new();
    let replies = futures::future::join_all((0..5).map(|_| {
        client
            .post(&url)
            .header("content-type", "application/cloudevents+json")
            .header("dapr-api-token", fleet.app_api_token())
            .json(&completed.envelope)
            .send()
    }))
    .await;
    for reply in replies {
        let body: Value = reply.unwrap().json().await.unwrap();
        assert_eq!(body["status"], "SUCCESS");
    }

    // Reopen and complete again: a new task-completed event for the same occurrence.
    lifecycle(&fleet, &root, "reopen").await;
    lifecycle(&fleet, &root, "complete").await;
    eventually(DEADLINE, "the second task-completed", || async {
        let count = fleet
            .sidecar()
            .published()
            .iter()
            .filter(|m| m.topic == "task-completed")
            .count();
        (count == 2).then_some(())
    })
    .await;
    settle(&fleet).await;

    assert_eq!(successors(&fleet, &root).await.len(), 1);
    let recurring_created = fleet
        .sidecar()
        .published()
        .iter()
        .filter(|m| m.topic == "task-created" && m.envelope["data"]["actor"] == "recurring")
        .count();
    assert_eq!(recurring_created, 1);
    fleet.stop().await;
}

#[tokio::test]
async fn a_monthly_series_from_january_31_goes_to_month_ends_at_the_same_local_time() {
    let fleet = start_fleet().await;
    // 09:00 in Berlin (CET); Berlin moves to CEST on 2027-03-28.
    let first = create(
        &fleet,
        json!({"title": "Pay rent", "recurring_rule": "monthly", "timezone": "Europe/Berlin",
               "due_date": "2027-01-31T08:00:00Z"}),
    )
    .await;
    let root = first["id"].clone();

    lifecycle(&fleet, &root, "complete").await;
    let february = wait_for_successors(&fleet, &root, 1).await.remove(0);
    assert_eq!(february["due_date"], "2027-02-28T08:00:00Z");
    assert_eq!(february["timezone"], "Europe/Berlin");

    lifecycle(&fleet, &february["id"], "complete").await;
    let series = wait_for_successors(&fleet, &root, 2).await;

    assert_eq!(series[1]["due_date"], "2027-03-31T07:00:00Z");
    assert_eq!(series[1]["parent_task_id"], root);
    fleet.stop().await;
}
