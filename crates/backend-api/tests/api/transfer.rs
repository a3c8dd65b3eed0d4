//! The user's data in and out: `GET /api/tasks/export` (JSON, CSV) and
//! `POST /api/tasks/import?format=todoist` (a Todoist CSV export, all or nothing).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn the_export_holds_every_task_of_the_caller_and_nothing_else() {
    let app = spawn_app().await;
    let open = app
        .create_ok(
            "alice",
            json!({"title": "=SUM(A1)", "tags": ["home"], "due_date": "2030-03-01T09:00:00Z"}),
        )
        .await;
    let done = app
        .create_ok("alice", json!({"title": "Done, finally"}))
        .await;
    app.complete_ok("alice", &done).await;
    app.create_ok("bob", json!({"title": "Bob's"})).await;

    let response = app
        .request(Method::GET, "/api/tasks/export", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"taskfleet-tasks-"),
        "{disposition}"
    );
    let body: Value = response.json().await.unwrap();
    let tasks = body["tasks"].as_array().unwrap();
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [open["id"].as_str().unwrap(), done["id"].as_str().unwrap()]
    );
    assert_eq!(tasks[1]["status"], "completed");
    assert!(tasks[0].get("user_id").is_none());
    assert!(body["exported_at"].is_string());

    let csv = app
        .request(Method::GET, "/api/tasks/export?format=csv", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(&rows[0][1], "'=SUM(A1)", "a formula is defused");
    assert_eq!(&rows[0][5], "home");
    assert_eq!(&rows[0][6], "2030-03-01T09:00:00Z");
    assert_eq!(&rows[1][1], "Done, finally");
    assert!(!text.contains("Bob"));

    let bad = app
        .request(Method::GET, "/api/tasks/export?format=xml", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let anonymous = app
        .client
        .get(app.url("/api/tasks/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

const TODOIST: &str = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT\n\
task,Pay rent @home,,1,1,Ann (1),,2030-05-01,en,Europe/Berlin,,\n\
note,ref 42,,,,Ann (1),,,,,,\n\
section,Garden,,,,,,,,,,\n\
task,Water the plants,,4,1,Ann (1),,every monday,en,,,\n\
task,Read a book,,3,2,Ann (1),,whenever,en,,,\n";

async fn import(
    app: &crate::helpers::TestApp,
    user: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.request(
        Method::POST,
        "/api/tasks/import?format=todoist&timezone=Europe/Berlin",
        user,
    )
    .header("content-type", content_type)
    .body(body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_todoist_export_is_imported_as_tasks_with_their_events() {
    let app = spawn_app().await;
    let response = import(&app, "alice", "text/csv", TODOIST).await;
    assert_eq!(response.status(), 201);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["imported"], 3, "{result}");
    assert_eq!(
        result["notes"],
        json!([{"line": 6, "message": "the date \"whenever\" was not understood; the task has no due date"}])
    );

    let (_, list) = app.get_json("alice", "/api/tasks?sort=created_at").await;
    let tasks = list["items"].as_array().unwrap();
    let by_title = |title: &str| tasks.iter().find(|t| t["title"] == title).unwrap().clone();
    let rent = by_title("Pay rent");
    assert_eq!(rent["tags"], json!(["home"]));
    assert_eq!(rent["priority"], "high");
    assert_eq!(rent["description"], "ref 42");
    assert!(
        rent["due_date"].as_str().unwrap().starts_with("2030-05-01"),
        "{rent}"
    );
    let plants = by_title("Water the plants");
    assert_eq!(plants["tags"], json!(["garden"]));
    assert_eq!(plants["priority"], "medium");
    assert!(plants["recurring_rule"].is_string(), "{plants}");
    let book = by_title("Read a book");
    assert_eq!(book["priority"], "low");
    assert!(book["due_date"].is_null());

    // Each task is announced like any other creation.
    let topics = app.outbox_topics().await;
    assert_eq!(topics, ["task-created"; 3]);
    // Bob sees none of it.
    let (_, bobs) = app.get_json("bob", "/api/tasks").await;
    assert_eq!(bobs["items"], json!([]));
}

#[tokio::test]
async fn a_file_that_cannot_be_imported_creates_nothing() {
    let app = spawn_app().await;
    for (content_type, body, status, code) in [
        (
            "text/csv",
            b"title,due\nmilk,tomorrow\n".to_vec(),
            422,
            "validation_failed",
        ),
        (
            "application/json",
            TODOIST.as_bytes().to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "text/csv",
            vec![0xff, 0xfe, b'T', b'Y'],
            400,
            "invalid_body",
        ),
    ] {
        let response = import(&app, "alice", content_type, body).await;
        assert_eq!(response.status(), status, "{content_type}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error_code(&error), code);
    }
    let unknown = app
        .request(Method::POST, "/api/tasks/import?format=ticktick", "alice")
        .header("content-type", "text/csv")
        .body(TODOIST)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    let mut too_many = String::from("TYPE,CONTENT\n");
    for i in 0..2001 {
        too_many.push_str(&format!("task,Task {i}\n"));
    }
    assert_eq!(
        import(&app, "alice", "text/csv", too_many).await.status(),
        422
    );
    let (_, list) = app.get_json("alice", "/api/tasks").await;
    assert_eq!(list["items"], json!([]));
    assert!(app.outbox_topics().await.is_empty());
}
