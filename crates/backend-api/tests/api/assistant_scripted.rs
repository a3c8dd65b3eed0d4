//! A scripted OpenAI-compatible Chat Completions server: an axum app on port 0 that answers
//! each request with the next canned reply and records every request body, plus helpers to
//! run the backend against it and read its event streams.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use backend_api::assistant::AssistantSettings;
use backend_api::startup::BuildOptions;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

pub const KEY: &str = "test-provider-key";

/// Thursday 2026-11-26, 11:00 in Berlin.
pub fn thursday() -> DateTime<Utc> {
    "2026-11-26T10:00:00Z".parse().unwrap()
}

/// One canned answer.
pub enum Reply {
    /// `text/event-stream` with these chunks, then `data: [DONE]`.
    Sse(Vec<Value>),
    /// One JSON document (a server that ignores `stream`).
    Json(Value),
    /// An HTTP error status with an error body.
    Status(u16),
    /// Answers only after this long.
    Hang(Duration),
}

#[derive(Clone, Default)]
pub struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
    keys: Arc<Mutex<Vec<String>>>,
}

impl Script {
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    pub fn keys(&self) -> Vec<String> {
        self.keys.lock().unwrap().clone()
    }
}

async fn completions(State(script): State<Script>, headers: HeaderMap, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    script.requests.lock().unwrap().push(request);
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    script.keys.lock().unwrap().push(key);
    let reply = script.replies.lock().unwrap().pop_front();
    match reply {
        Some(Reply::Sse(chunks)) => {
            let mut body = String::new();
            for chunk in chunks {
                body.push_str(&format!("data: {chunk}\n\n"));
            }
            body.push_str("data: [DONE]\n\n");
            ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
        }
        Some(Reply::Json(value)) => axum::Json(value).into_response(),
        Some(Reply::Status(code)) => (
            StatusCode::from_u16(code).unwrap(),
            axum::Json(json!({"error": {"message": "scripted failure", "type": "server_error"}})),
        )
            .into_response(),
        Some(Reply::Hang(duration)) => {
            tokio::time::sleep(duration).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "script exhausted").into_response(),
    }
}

/// Starts the scripted provider; returns its base URL (`…/v1`).
pub async fn start_provider(replies: Vec<Reply>) -> (String, Script) {
    let script = Script::default();
    for reply in replies {
        script.push(reply);
    }
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}/v1"), script)
}

/// Settings for the scripted provider at `base_url`.
pub fn provider_settings(base_url: &str) -> AssistantSettings {
    AssistantSettings {
        api_key: Some(KEY.to_owned()),
        base_url: base_url.to_owned(),
        model: "scripted-model".to_owned(),
        timeout: Duration::from_secs(10),
        ..AssistantSettings::default()
    }
}

/// The backend with the assistant on the scripted provider and the clock at [`thursday`].
pub async fn spawn_with(settings: AssistantSettings) -> TestApp {
    spawn_app_with(BuildOptions {
        assistant: settings,
        clock: Arc::new(thursday),
        ..BuildOptions::default()
    })
    .await
}

/// A scripted provider with `replies` and the backend using it.
pub async fn spawn_scripted(replies: Vec<Reply>) -> (TestApp, Script) {
    let (base_url, script) = start_provider(replies).await;
    (spawn_with(provider_settings(&base_url)).await, script)
}

/// Streamed text: one chunk per word, then `stop`.
pub fn text_reply(text: &str) -> Reply {
    let mut chunks: Vec<Value> = text
        .split_inclusive(' ')
        .map(|word| json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": word}}]}))
        .collect();
    chunks.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    Reply::Sse(chunks)
}

/// Streamed tool calls, each with its own index; the arguments arrive in two fragments, the
/// second without an id (as OpenAI streams them).
pub fn tool_reply(calls: &[(&str, &str, Value)]) -> Reply {
    let mut chunks = Vec::new();
    for (index, (id, name, arguments)) in calls.iter().enumerate() {
        let text = arguments.to_string();
        let (head, tail) = text.split_at(text.len() / 2);
        chunks.push(json!({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": head}}]}}]}));
        chunks.push(json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": index, "function": {"arguments": tail}}]}}]}));
    }
    chunks.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}));
    Reply::Sse(chunks)
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
