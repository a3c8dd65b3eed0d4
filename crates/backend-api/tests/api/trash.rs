//! The trash: a deleted task is restorable for 30 days, by its owner only; restoring publishes
//! `task-updated` (`changes.deleted` true → false) with the next version; entries past the 30
//! days are hidden at once and purged for good.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};

async fn call(app: &TestApp, method: Method, path: &str, user: &str) -> (u16, Value) {
    let response = app.request(method, path, user).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete(app: &TestApp, user: &str, id: &str) {
    let (status, body) = call(app, Method::DELETE, &format!("/api/tasks/{id}"), user).await;
    assert_eq!(status, 204, "{body}");
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["task"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_deleted_task_waits_in_the_trash_and_comes_back_as_the_next_version() {
    let app = spawn_app().await;
    let task = app
        .create_ok(
            "alice",
            json!({"title": "Pay rent", "tags": ["home"], "priority": "high",
                   "due_date": "2030-01-01T09:00:00Z", "reminder_at": "2030-01-01T08:00:00Z",
                   "recurring_rule": "monthly", "timezone": "Europe/Berlin"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    delete(&app, "alice", id).await;

    let (status, _) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(status, 404);
    let (_, open) = app.get_json("alice", "/api/tasks").await;
    assert_eq!(open["items"], json!([]));
    let (status, trash) = app.get_json("alice", "/api/tasks/trash").await;
    assert_eq!(status, 200, "{trash}");
    assert_eq!(ids(&trash), [id]);
    let entry = &trash["items"][0];
    assert_eq!(entry["task"]["version"], 2, "the deletion's version");
    let deleted_at: chrono::DateTime<chrono::Utc> =
        entry["deleted_at"].as_str().unwrap().parse().unwrap();
    let purge_at: chrono::DateTime<chrono::Utc> =
        entry["purge_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(purge_at - deleted_at, chrono::Duration::days(30));

    let (status, restored) = call(
        &app,
        Method::POST,
        &format!("/api/tasks/trash/{id}/restore"),
        "alice",
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["version"], 3);
    for field in [
        "title",
        "tags",
        "priority",
        "due_date",
        "reminder_at",
        "recurring_rule",
        "timezone",
        "created_at",
        "status",
    ] {
        assert_eq!(restored[field], task[field], "{field}");
    }
    let (_, fetched) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(fetched["version"], 3);
    let (_, trash) = app.get_json("alice", "/api/tasks/trash").await;
    assert_eq!(trash["items"], json!([]));

    let (topic, envelope): (String, Value) =
        sqlx::query_as("SELECT topic, envelope FROM outbox ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(topic, "task-updated");
    assert_eq!(
        envelope["data"]["data"]["changes"],
        json!({"deleted": {"before": true, "after": false}})
    );
    assert_eq!(envelope["data"]["task_version"], 3);
    assert_eq!(
        app.outbox_topics().await,
        ["task-created", "task-deleted", "task-updated"]
    );

    // Restored once; a second restore finds nothing.
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/tasks/trash/{id}/restore"),
        "alice",
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    // Deleted again, it is in the trash again with the next version.
    delete(&app, "alice", id).await;
    let (_, trash) = app.get_json("alice", "/api/tasks/trash").await;
    assert_eq!(trash["items"][0]["task"]["version"], 4);
}

#[tokio::test]
async fn another_users_trash_is_out_of_reach() {
    let app = spawn_app().await;
    let task = app.create_ok("alice", json!({"title": "Secret"})).await;
    let id = task["id"].as_str().unwrap();
    delete(&app, "alice", id).await;

    let (_, bobs) = app.get_json("bob", "/api/tasks/trash").await;
    assert_eq!(bobs["items"], json!([]));
    for (method, path) in [
        (Method::POST, format!("/api/tasks/trash/{id}/restore")),
        (Method::DELETE, format!("/api/tasks/trash/{id}")),
    ] {
        let (status, body) = call(&app, method, &path, "bob").await;
        assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    }
    let (_, emptied) = call(&app, Method::DELETE, "/api/tasks/trash", "bob").await;
    assert_eq!(emptied, json!({"deleted": 0}));
    let (_, alices) = app.get_json("alice", "/api/tasks/trash").await;
    assert_eq!(ids(&alices), [id]);
    let response = app
        .client
        .get(format!("{}/api/tasks/trash", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_trash_pages_newest_first_and_deletes_for_good_on_request() {
    let app = spawn_app().await;
    let mut deleted = Vec::new();
    for title in ["one", "two", "three"] {
        let task = app.create_ok("alice", json!({"title": title})).await;
        let id = task["id"].as_str().unwrap().to_owned();
        delete(&app, "alice", &id).await;
        deleted.push(id);
    }
    let mut seen = Vec::new();
    let mut path = "/api/tasks/trash?limit=2".to_owned();
    loop {
        let (status, page) = app.get_json("alice", &path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/tasks/trash?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    deleted.reverse();
    assert_eq!(seen, deleted);

    for bad in [
        "/api/tasks/trash?limit=0",
        "/api/tasks/trash?limit=201",
        "/api/tasks/trash?cursor=forged",
        "/api/tasks/trash?status=pending",
    ] {
        let (status, body) = app.get_json("alice", bad).await;
        assert_eq!(status, 400, "{bad} → {body}");
    }

    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/tasks/trash/{}", deleted[0]),
        "alice",
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/tasks/trash/{}/restore", deleted[0]),
        "alice",
    )
    .await;
    assert_eq!(status, 404, "deleted for good");
    let (_, emptied) = call(&app, Method::DELETE, "/api/tasks/trash", "alice").await;
    assert_eq!(emptied, json!({"deleted": 2}));
    let (_, trash) = app.get_json("alice", "/api/tasks/trash").await;
    assert_eq!(trash["items"], json!([]));
    // Deleting for good publishes nothing more: the deletion was published when it happened.
    assert_eq!(
        app.outbox_topics()
            .await
            .iter()
            .filter(|t| *t == "task-deleted")
            .count(),
        3
    );
}

#[tokio::test]
async fn entries_past_thirty_days_are_hidden_at_once_and_purged() {
    let app = spawn_app().await;
    let old = app.create_ok("alice", json!({"title": "old"})).await;
    let fresh = app.create_ok("alice", json!({"title": "fresh"})).await;
    let (old, fresh) = (old["id"].as_str().unwrap(), fresh["id"].as_str().unwrap());
    delete(&app, "alice", old).await;
    delete(&app, "alice", fresh).await;
    sqlx::query(
        "UPDATE trashed_tasks SET deleted_at = now() - interval '30 days 1 second' WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(old).unwrap())
    .execute(&app.pool)
    .await
    .unwrap();

    let (_, trash) = app.get_json("alice", "/api/tasks/trash").await;
    assert_eq!(ids(&trash), [fresh]);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/tasks/trash/{old}/restore"),
        "alice",
    )
    .await;
    assert_eq!(status, 404);

    assert_eq!(
        backend_api::tasks::trash::purge(&app.pool).await.unwrap(),
        1
    );
    let left: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM trashed_tasks")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, [uuid::Uuid::parse_str(fresh).unwrap()]);
}
