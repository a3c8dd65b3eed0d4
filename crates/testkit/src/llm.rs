//! A scripted OpenAI-compatible Chat Completions server for tests of the assistant: an axum
//! app on port 0 that answers each request with the next canned reply and records every
//! request body and key. No real model runs in tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

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

/// The queued answers and what was received.
#[derive(Clone, Default)]
pub struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
    keys: Arc<Mutex<Vec<String>>>,
}

impl Script {
    /// Every request body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// Queues the answer to the next request.
    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    /// The `Authorization` header of every request, in order.
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
