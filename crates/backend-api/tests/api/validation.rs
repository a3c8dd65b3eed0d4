use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};

async fn post_raw(app: &TestApp, body: &str, content_type: Option<&str>) -> (u16, Value) {
    let mut request = app
        .request(Method::POST, "/api/tasks", "alice")
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_invalid_field_is_a_422_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": long(201)}), "title"),
        (json!({"title": "a\u{0}b"}), "title"),
        (
            json!({"title": "ok", "description": long(10_001)}),
            "description",
        ),
        (
            json!({"title": "ok", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "tags",
        ),
        (json!({"title": "ok", "tags": [""]}), "tags"),
        (json!({"title": "ok", "tags": [long(51)]}), "tags"),
        (
            json!({"title": "ok", "timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (
            json!({"title": "ok", "recurring_rule": "every full moon"}),
            "recurring_rule",
        ),
        (
            json!({"title": "ok", "recurring_rule": "FREQ=DAILY\nEXDATE:20300101T000000Z"}),
            "recurring_rule",
        ),
        // Times chrono reads and Postgres cannot store (before 4713 BC): a 500 before.
        (
            json!({"title": "ok", "due_date": "-5000-01-01T00:00:00Z"}),
            "due_date",
        ),
        (
            json!({"title": "ok", "reminder_at": "+20000-01-01T00:00:00Z"}),
            "reminder_at",
        ),
        (
            json!({"title": "ok", "recurring_rule": "daily", "recurring_end_date": "-5000-01-01T00:00:00Z"}),
            "recurring_end_date",
        ),
    ];
    for (body, field) in cases {
        let response = app.create("alice", body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error_code(&error), "validation_failed");
        assert!(
            error["error"]["details"].get(field).is_some(),
            "{body} -> {error}"
        );
    }
    // Several problems are reported at once.
    let error: Value = app
        .create("alice", json!({"title": "", "timezone": "nowhere"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(error["error"]["details"].as_object().unwrap().len(), 2);
    // Boundaries are accepted.
    app.create_ok("alice", json!({"title": long(200), "description": long(10_000), "tags": (0..20).map(|i| format!("{i}{}", long(48))).collect::<Vec<_>>(), "timezone": "America/New_York", "recurring_rule": "FREQ=MONTHLY;BYMONTHDAY=-1"})).await;
    assert_eq!(app.outbox_topics().await.len(), 1);
}

#[tokio::test]
async fn malformed_bodies_get_400_413_415_or_422_with_the_json_error_body() {
    let app = spawn_app().await;
    let json_type = Some("application/json");
    let cases: Vec<(String, Option<&str>, u16)> = vec![
        ("{\"title\": ".into(), json_type, 400),
        ("not json".into(), json_type, 400),
        ("".into(), json_type, 400),
        ("{\"title\": \"a\"}".into(), None, 415),
        ("{\"title\": \"a\"}".into(), Some("text/plain"), 415),
        ("{\"title\": 5}".into(), json_type, 422),
        (
            "{\"title\": \"a\", \"priority\": \"urgent\"}".into(),
            json_type,
            422,
        ),
        (
            "{\"title\": \"a\", \"due_date\": \"tomorrow\"}".into(),
            json_type,
            422,
        ),
        (
            "{\"title\": \"a\", \"tags\": \"work\"}".into(),
            json_type,
            422,
        ),
        (
            "{\"title\": \"a\", \"owner\": \"bob\"}".into(),
            json_type,
            422,
        ),
        ("[]".into(), json_type, 422),
        (
            format!("{{\"title\": \"{}\"}}", "x".repeat(1024 * 1024)),
            json_type,
            413,
        ),
    ];
    for (body, content_type, expected) in cases {
        let (status, error) = post_raw(&app, &body, content_type).await;
        assert_eq!(
            status, expected,
            "{:.80} / {content_type:?} -> {error}",
            body
        );
        error_code(&error);
    }
    assert!(app.outbox_topics().await.is_empty());
}

#[tokio::test]
async fn bad_ids_queries_cursors_and_preconditions_are_client_errors_never_5xx() {
    let app = spawn_app().await;
    let task = app.create_ok("alice", json!({"title": "a"})).await;
    let id = task["id"].as_str().unwrap();
    let forged_cursor = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(json!({"s": "created_at", "k": "not a time", "id": id}).to_string())
    };
    let paths = [
        ("/api/tasks/not-a-uuid".to_owned(), 400),
        ("/api/tasks/not-a-uuid/complete".to_owned(), 405),
        ("/api/tasks?limit=0".to_owned(), 400),
        ("/api/tasks?limit=201".to_owned(), 400),
        ("/api/tasks?limit=ten".to_owned(), 400),
        ("/api/tasks?status=done".to_owned(), 400),
        ("/api/tasks?priority=urgent".to_owned(), 400),
        ("/api/tasks?sort=owner".to_owned(), 400),
        ("/api/tasks?due_before=yesterday".to_owned(), 400),
        // Read by chrono, refused by Postgres (a 500 before).
        (
            "/api/tasks?due_before=-5000-01-01T00:00:00Z".to_owned(),
            400,
        ),
        ("/api/tasks?due_after=-5000-01-01T00:00:00Z".to_owned(), 400),
        ("/api/tasks?cursor=%%%".to_owned(), 400),
        ("/api/tasks?cursor=e30".to_owned(), 400),
        (format!("/api/tasks?cursor={forged_cursor}"), 400),
        (format!("/api/tasks?sort=title&cursor={forged_cursor}"), 400),
        (format!("/api/tasks?q={}", "x".repeat(201)), 400),
        ("/api/tasks?user_id=bob".to_owned(), 400),
        ("/api/nothing".to_owned(), 404),
    ];
    for (path, expected) in paths {
        let (status, body) = app.get_json("alice", &path).await;
        assert_eq!(status, expected, "{path} -> {body}");
        error_code(&body);
    }
    for if_match in ["\"banana\"", "\"1\"x"] {
        let response = app
            .request(Method::PATCH, &format!("/api/tasks/{id}"), "alice")
            .header("if-match", if_match)
            .json(&json!({"title": "b"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{if_match}");
    }
    let response = app
        .request(Method::PATCH, &format!("/api/tasks/{id}"), "alice")
        .header("if-match", "\"7\"")
        .json(&json!({"title": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        (
            error_code(&error).as_str(),
            &error["error"]["details"]["current_version"]
        ),
        ("precondition_failed", &json!(1))
    );
    let response = app
        .request(Method::POST, "/api/tasks", "alice")
        .header("idempotency-key", "")
        .json(&json!({"title": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(app.outbox_topics().await.len(), 1);
}

#[tokio::test]
async fn a_patch_that_is_not_an_object_or_nulls_a_required_field_is_a_422_and_changes_nothing() {
    let app = spawn_app().await;
    let task = app
        .create_ok("alice", json!({"title": "keep me", "priority": "high"}))
        .await;
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    let bodies = [
        "{\"due_date\": \"-5000-01-01T00:00:00Z\"}",
        "[]",
        "[\"title\"]",
        "null",
        "42",
        "{\"title\": null}",
        "{\"priority\": null}",
        "{\"tags\": null}",
        "{\"timezone\": null}",
        "{\"recurring_mode\": null}",
        "{\"description\": null}",
    ];
    for body in bodies {
        let response = app
            .request(Method::PATCH, &path, "alice")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let error: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 422, "{body} -> {error}");
        assert_eq!(error_code(&error), "validation_failed", "{body}");
    }
    let (_, now) = app.get_json("alice", &path).await;
    assert_eq!(now["title"], "keep me");
    assert_eq!(now["priority"], "high");
    assert_eq!(now["version"], task["version"], "nothing was written");
    // Nullable fields still clear with null.
    let cleared = app
        .request(Method::PATCH, &path, "alice")
        .json(&json!({"due_date": null, "title": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
}

#[tokio::test]
async fn a_nul_character_is_refused_as_such_not_as_a_length() {
    let app = spawn_app().await;
    let (status, body) = app.get_json("alice", "/api/tasks?q=a%00b").await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_query"));
    assert_eq!(
        body["error"]["message"],
        "q: must not contain NUL characters"
    );

    let response = app
        .request(Method::POST, "/api/views", "alice")
        .json(&json!({"name": "a\u{0}b", "query": "status=pending"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["details"]["name"],
        "must not contain NUL characters"
    );
    let (_, views) = app.get_json("alice", "/api/views").await;
    assert_eq!(views["items"], json!([]), "{views}");
}
