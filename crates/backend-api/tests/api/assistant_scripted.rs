//! The backend against the scripted OpenAI-compatible server of `testkit::llm`, plus helpers
//! to read its event streams.

use std::sync::Arc;
use std::time::Duration;

use backend_api::Settings;
use backend_api::assistant::AssistantSettings;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

pub use testkit::llm::{Reply, Script, start_provider, text_reply, tool_reply};

use crate::helpers::{TestApp, spawn_app_with};

pub const KEY: &str = "test-provider-key";

/// Thursday 2026-11-26, 11:00 in Berlin.
pub fn thursday() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

/// Settings for the scripted provider at `base_url`.
pub fn provider_settings(base_url: &str) -> AssistantSettings {
    AssistantSettings {
        api_key: Some(KEY.into()),
        base_url: base_url.to_owned(),
        model: "scripted-model".to_owned(),
        timeout: Duration::from_secs(10),
        ..AssistantSettings::default()
    }
}

/// The backend with the assistant on the scripted provider and the clock at [`thursday`].
pub async fn spawn_with(settings: AssistantSettings) -> TestApp {
    spawn_app_with(|defaults| Settings {
        assistant: settings,
        clock: Arc::new(thursday),
        ..defaults
    })
    .await
}

/// A scripted provider with `replies` and the backend using it.
pub async fn spawn_scripted(replies: Vec<Reply>) -> (TestApp, Script) {
    let (base_url, script) = start_provider(replies).await;
    (spawn_with(provider_settings(&base_url)).await, script)
}

/// A new thread of `user` in Europe/Berlin.
pub async fn new_thread(app: &TestApp, user: &str) -> String {
    let response = app
        .request(Method::POST, "/api/assistant/threads", user)
        .json(&json!({"timezone": "Europe/Berlin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let thread: Value = response.json().await.unwrap();
    thread["id"].as_str().unwrap().to_owned()
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event: String,
    pub data: Value,
}

/// Posts a message and reads the whole event stream; fails the test if the stream does not
/// end within 20 s (a hung stream is a bug).
pub async fn send_message(app: &TestApp, user: &str, thread: &str, text: &str) -> Vec<Sent> {
    let (status, body) = post_message(app, user, thread, text).await;
    assert_eq!(status, 200, "{body}");
    parse_events(&body)
}

/// Posts a message; the status and the raw body (read to its end, at most 20 s).
pub async fn post_message(app: &TestApp, user: &str, thread: &str, text: &str) -> (u16, String) {
    let response = app
        .request(
            Method::POST,
            &format!("/api/assistant/threads/{thread}/messages"),
            user,
        )
        .json(&json!({"text": text}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = tokio::time::timeout(Duration::from_secs(20), response.text())
        .await
        .expect("the event stream ended")
        .unwrap();
    (status, body)
}

pub fn parse_events(body: &str) -> Vec<Sent> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = Some(name.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            Some(Sent {
                event: event?,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// The names of the events, in order.
pub fn names(events: &[Sent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

/// The results of the tool calls in the stream, in order.
pub fn tool_results(events: &[Sent]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e.event == "tool_call.finished")
        .map(|e| e.data["content"]["result"].clone())
        .collect()
}

/// The outbox rows' (topic, actor, user).
pub async fn outbox_events(app: &TestApp) -> Vec<(String, String, String)> {
    let rows: Vec<(String, Value)> =
        sqlx::query_as("SELECT topic, envelope FROM outbox ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(topic, envelope)| {
            (
                topic,
                envelope["data"]["actor"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                envelope["data"]["user_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Decides confirmation card `card` as `user`: the status and the JSON body.
pub async fn decide(app: &TestApp, user: &str, card: &str, confirm: bool) -> (u16, Value) {
    let response = app
        .request(
            Method::POST,
            &format!("/api/assistant/confirmations/{card}"),
            user,
        )
        .json(&json!({"confirm": confirm}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Has the scripted model answer alice's `text` in `thread` with one `tool` call (which must draw a
/// confirmation card) and a short reply; returns the card's id.
pub async fn ask_for_card(
    app: &TestApp,
    script: &Script,
    thread: &str,
    text: &str,
    (tool, arguments): (&str, Value),
) -> String {
    script.push(tool_reply(&[("card_call", tool, arguments)]));
    script.push(text_reply("Confirm in the card."));
    let events = send_message(app, "alice", thread, text).await;
    let result = &tool_results(&events)[0];
    result["confirmation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no card: {result}"))
        .to_owned()
}

/// The `kind` of each item of an items page, in order.
pub fn item_kinds(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect()
}
