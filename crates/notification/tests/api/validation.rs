//! Bad input and missing credentials on the notifications API: 4xx JSON errors, never 5xx.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    error_code, fresh_database, insert_notification, spawn_instance, token, with_scheduler,
};
use crate::notifications::mark;

#[tokio::test]
async fn bad_ids_queries_and_bodies_get_4xx_json_errors() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let id = insert_notification(&pool, "alice", "x").await.to_string();

    for query in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "unread=maybe",
        "cursor=not-a-cursor",
        "cursor=eyJ0IjoxfQ",
        "sort=title",
    ] {
        let (status, body) = instance
            .get_json("alice", &format!("/api/notifications?{query}"))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        error_code(&body);
    }
    for (body, expected) in [
        (json!({"read": "yes"}), 422),
        (json!({"raed": true}), 422),
        (json!({}), 422),
        (json!({"read": true, "extra": 1}), 422),
        (json!([true]), 422),
    ] {
        let (status, reply) = mark(&instance, "alice", &id, body.clone()).await;
        assert_eq!(status, expected, "{body}: {reply}");
        error_code(&reply);
    }
    let (status, reply) = mark(&instance, "alice", "not-a-uuid", json!({"read": true})).await;
    assert_eq!(status, 400);
    error_code(&reply);

    let path = format!("/api/notifications/{id}");
    let malformed = instance
        .request(Method::PATCH, &path, "alice")
        .header("content-type", "application/json")
        .body("{\"read\": tru")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let no_type = instance
        .request(Method::PATCH, &path, "alice")
        .body("{\"read\": true}")
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), 415);
    let bad_delete = instance
        .request(Method::DELETE, "/api/notifications/123", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_delete.status(), 400);
    let body: Value = bad_delete.json().await.unwrap();
    error_code(&body);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let (pool, url) = fresh_database().await;
    let instance = spawn_instance(&url, with_scheduler()).await;
    let id = insert_notification(&pool, "alice", "x").await;
    let requests = [
        (Method::GET, "/api/notifications".to_owned()),
        (Method::GET, "/api/notifications/unread-count".to_owned()),
        (Method::POST, "/api/notifications/read-all".to_owned()),
        (Method::DELETE, format!("/api/notifications/{id}")),
    ];
    for (method, path) in requests {
        let url = format!("{}{path}", instance.address);
        let anonymous = instance
            .client
            .request(method.clone(), &url)
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path}");
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(error_code(&body), "unauthorized");
        let forged = instance
            .client
            .request(method.clone(), &url)
            .bearer_auth(format!("{}x", token("alice")))
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401, "{method} {path}");
    }
    let (_, page) = instance.get_json("alice", "/api/notifications").await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "nothing was deleted"
    );
}
