//! Views that stay: several tags at once (`tag_mode`), the due views read in the caller's zone
//! (`due=today|upcoming|overdue&timezone=`), and saved views (`/api/views`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, sorted_titles, spawn_app};

/// RFC 3339 for the database's `now()` moved by `interval`, so the due views (read by the
/// database's clock) see what the test means.
async fn db_time(app: &TestApp, expression: &str) -> String {
    sqlx::query_scalar(&format!(
        "SELECT to_char(({expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    ))
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn titles(app: &TestApp, user: &str, query: &str) -> Vec<String> {
    let (status, page) = app.get_json(user, &format!("/api/tasks?{query}")).await;
    assert_eq!(status, 200, "{query} → {page}");
    sorted_titles(&page["items"])
}

#[tokio::test]
async fn several_tags_match_all_of_them_or_any_of_them() {
    let app = spawn_app().await;
    for (title, tags) in [
        ("both", json!(["home", "work"])),
        ("home", json!(["home"])),
        ("work", json!(["work"])),
        ("none", json!([])),
    ] {
        app.create_ok("alice", json!({"title": title, "tags": tags}))
            .await;
    }
    assert_eq!(titles(&app, "alice", "tag=home&tag=work").await, ["both"]);
    assert_eq!(
        titles(&app, "alice", "tag=home&tag=work&tag_mode=all").await,
        ["both"]
    );
    assert_eq!(
        titles(&app, "alice", "tag=home&tag=work&tag_mode=any").await,
        ["both", "home", "work"]
    );
    // `status=all` is the absence of the filter, as the app's links and saved views say it.
    assert_eq!(titles(&app, "alice", "status=all").await.len(), 4);
    let (status, body) = app
        .get_json("alice", "/api/tasks?tag=home&tag_mode=some")
        .await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_query"));
}

#[tokio::test]
async fn the_due_views_are_days_of_the_callers_zone() {
    let app = spawn_app().await;
    // Local midnights are the edges: Auckland (UTC+12/13) and Honolulu (UTC−10) disagree
    // about which day most instants fall on, so each zone gets its own edge cases.
    for zone in ["Pacific/Auckland", "Pacific/Honolulu", "UTC"] {
        let user = format!("user-{zone}");
        let local_midnight =
            format!("date_trunc('day', now() AT TIME ZONE '{zone}') AT TIME ZONE '{zone}'");
        let cases = [
            (
                "earlier today",
                format!("{local_midnight} + interval '1 second'"),
            ),
            (
                "last night",
                format!("{local_midnight} - interval '1 second'"),
            ),
            (
                "tonight",
                format!("{local_midnight} + interval '23 hours 59 minutes'"),
            ),
            ("tomorrow", format!("{local_midnight} + interval '1 day'")),
            (
                "in six days",
                format!("{local_midnight} + interval '6 days 23 hours'"),
            ),
            ("in a week", format!("{local_midnight} + interval '7 days'")),
        ];
        for (title, at) in &cases {
            let due = db_time(&app, at).await;
            app.create_ok(&user, json!({"title": title, "due_date": due}))
                .await;
        }
        app.create_ok(&user, json!({"title": "undated"})).await;
        let tz = zone.replace('/', "%2F");
        let today = vec!["earlier today", "tonight"];
        // A task due late tonight is overdue only once that time has passed.
        let now_is_past: bool = sqlx::query_scalar(&format!(
            "SELECT now() >= {local_midnight} + interval '23 hours 59 minutes'"
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            titles(&app, &user, &format!("due=today&timezone={tz}")).await,
            today,
            "{zone}"
        );
        let mut upcoming = vec!["earlier today", "in six days", "tomorrow", "tonight"];
        upcoming.sort_unstable();
        assert_eq!(
            titles(&app, &user, &format!("due=upcoming&timezone={tz}")).await,
            upcoming,
            "{zone}"
        );
        let mut overdue = vec!["last night"];
        let earlier_is_past: bool = sqlx::query_scalar(&format!(
            "SELECT now() > {local_midnight} + interval '1 second'"
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if earlier_is_past {
            overdue.push("earlier today");
        }
        if now_is_past {
            overdue.push("tonight");
        }
        overdue.sort_unstable();
        assert_eq!(
            titles(&app, &user, &format!("due=overdue&timezone={tz}")).await,
            overdue,
            "{zone}"
        );
    }
    for bad in ["due=someday", "due=today&timezone=Mars%2FOlympus"] {
        let (status, body) = app.get_json("alice", &format!("/api/tasks?{bad}")).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (400, "invalid_query"),
            "{bad}"
        );
    }
}

async fn save(app: &TestApp, user: &str, body: Value) -> (u16, Value) {
    let response = app
        .request(Method::POST, "/api/views", user)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn saved_views_keep_a_valid_query_under_a_name_for_their_owner_only() {
    let app = spawn_app().await;
    let (status, work) = save(
        &app,
        "alice",
        json!({"name": "Work, by due date", "query": "?status=pending&tag=work&sort=due_date"}),
    )
    .await;
    assert_eq!(status, 201, "{work}");
    assert_eq!(work["query"], "status=pending&tag=work&sort=due_date");
    let (status, _) = save(
        &app,
        "alice",
        json!({"name": "Today", "query": "due=today&timezone=Europe%2FBerlin"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, list) = app.get_json("alice", "/api/views").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Work, by due date", "Today"]);

    // A view's query lists as saved.
    app.create_ok("alice", json!({"title": "w", "tags": ["work"]}))
        .await;
    let query = work["query"].as_str().unwrap();
    assert_eq!(titles(&app, "alice", query).await, ["w"]);

    for (body, field) in [
        (
            json!({"name": "Work, by due date", "query": "status=completed"}),
            None,
        ),
        (json!({"name": "", "query": "status=pending"}), Some("name")),
        (json!({"name": "x".repeat(61), "query": ""}), Some("name")),
        (
            json!({"name": "bad", "query": "status=sleeping"}),
            Some("query"),
        ),
        (json!({"name": "bad", "query": "colour=red"}), Some("query")),
        (
            json!({"name": "paged", "query": "status=pending&limit=5"}),
            Some("query"),
        ),
    ] {
        let (status, error) = save(&app, "alice", body.clone()).await;
        match field {
            None => assert_eq!(
                (status, error_code(&error).as_str()),
                (409, "already_exists")
            ),
            Some(field) => {
                assert_eq!(status, 422, "{body} → {error}");
                assert!(error["error"]["details"].get(field).is_some(), "{error}");
            }
        }
    }

    // Bob sees none of them and cannot delete them.
    let (_, bobs) = app.get_json("bob", "/api/views").await;
    assert_eq!(bobs["items"], json!([]));
    let id = work["id"].as_str().unwrap();
    let response = app
        .request(Method::DELETE, &format!("/api/views/{id}"), "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = app
        .request(Method::DELETE, &format!("/api/views/{id}"), "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (_, list) = app.get_json("alice", "/api/views").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_user_keeps_at_most_fifty_views() {
    let app = spawn_app().await;
    for n in 0..50 {
        let (status, _) = save(
            &app,
            "alice",
            json!({"name": format!("view {n}"), "query": "status=pending"}),
        )
        .await;
        assert_eq!(status, 201);
    }
    let (status, error) = save(
        &app,
        "alice",
        json!({"name": "one more", "query": "status=pending"}),
    )
    .await;
    assert_eq!(status, 422, "{error}");
    let (status, _) = save(
        &app,
        "bob",
        json!({"name": "one more", "query": "status=pending"}),
    )
    .await;
    assert_eq!(status, 201, "the limit is per user");
}

async fn change(app: &TestApp, user: &str, id: &str, body: Value) -> (u16, Value) {
    let response = app
        .request(Method::PATCH, &format!("/api/views/{id}"), user)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_view_is_renamed_or_made_to_list_something_else_by_its_owner_only() {
    let app = spawn_app().await;
    let (_, work) = save(&app, "alice", json!({"name": "Work", "query": "tag=work"})).await;
    save(&app, "alice", json!({"name": "Home", "query": "tag=home"})).await;
    let id = work["id"].as_str().unwrap();

    let (status, renamed) = change(&app, "alice", id, json!({"name": "  Office  "})).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (renamed["name"].as_str(), renamed["query"].as_str()),
        (Some("Office"), Some("tag=work"))
    );
    let (status, requeried) = change(
        &app,
        "alice",
        id,
        json!({"query": "?tag=work&sort=due_date"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (requeried["name"].as_str(), requeried["query"].as_str()),
        (Some("Office"), Some("tag=work&sort=due_date"))
    );

    let (status, error) = change(&app, "alice", id, json!({"name": "Home"})).await;
    assert_eq!(
        (status, error_code(&error).as_str()),
        (409, "already_exists")
    );
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"query": "limit=3"}),
        json!({"query": "status=sleeping"}),
    ] {
        let (status, error) = change(&app, "alice", id, bad.clone()).await;
        assert_eq!(status, 422, "{bad} → {error}");
    }
    let (status, _) = change(&app, "bob", id, json!({"name": "Mine now"})).await;
    assert_eq!(status, 404);
    let (_, list) = app.get_json("alice", "/api/views").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Office", "Home"], "renaming keeps the view's place");
}
