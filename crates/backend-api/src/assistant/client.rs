//! A small client for OpenAI-compatible Chat Completions with tool calling, on reqwest with
//! its own serde types (no SDK whose provider assumptions we would have to fight).
//!
//! Provider differences it absorbs:
//! - streamed tool calls are accumulated by `id`, and by `index` only for fragments without
//!   an id, so servers that give every parallel call index 0 still yield separate calls;
//! - `tool_choice` is sent only when configured, since some servers refuse it;
//! - `reasoning_content` (and OpenRouter's `reasoning`) is collected so the caller can send it
//!   back with the assistant message on the next turn, as reasoning models require;
//! - a server that ignores `stream: true` and answers one JSON document is read as well;
//! - every call is bounded by a timeout; errors never carry the key or the provider's body.

use common::ExposeSecret;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::settings::AssistantSettings;
use super::stream::{Chunk, Turn, sse_line};

/// A message of the conversation as the provider sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text; `null` for an assistant turn that only calls tools.
    pub content: Option<String>,
    /// The reasoning of a reasoning model's assistant turn, sent back verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// The tools an assistant turn calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `tool` messages: the call answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A system or user message.
    pub fn text(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: Some(content.into()),
            reasoning_content: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// The answer to a tool call: its result as JSON text (data, never instructions).
    pub fn tool_result(tool_call_id: &str, result: &Value) -> Self {
        Self {
            role: "tool".to_owned(),
            content: Some(result.to_string()),
            reasoning_content: None,
            tool_calls: Vec::new(),
            tool_call_id: Some(tool_call_id.to_owned()),
        }
    }
}

/// A tool call of an assistant turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id (or ours, when the provider gave none).
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function")]
    pub kind: String,
    /// Which tool, with what arguments.
    pub function: FunctionCall,
}

fn function() -> String {
    "function".to_owned()
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Tool name.
    pub name: String,
    /// JSON arguments as text (as the model wrote them; may be malformed).
    #[serde(default)]
    pub arguments: String,
}

/// One finished model turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// The visible text.
    pub content: String,
    /// Reasoning text, when the model produced any.
    pub reasoning_content: Option<String>,
    /// The tools it calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// The tokens the call used, when the provider reported them (`usage.total_tokens`).
    pub total_tokens: Option<u64>,
}

/// Why a model call failed. The messages are safe to show to the user.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No answer within the configured time.
    #[error("the model did not answer in time")]
    Timeout,
    /// A non-success HTTP status.
    #[error("the model provider answered HTTP {0}")]
    Status(u16),
    /// Connection or transfer failure.
    #[error("the model provider could not be reached")]
    Transport(#[source] reqwest::Error),
    /// A reply that is not Chat Completions.
    #[error("the model provider sent an unreadable reply")]
    Malformed(String),
    /// An error object inside the stream.
    #[error("the model provider reported an error")]
    Reported(String),
}

/// The provider connection.
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    settings: AssistantSettings,
}

impl ChatClient {
    /// A client for `settings` (which must carry a key to be useful).
    pub fn new(settings: AssistantSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, settings })
    }

    /// The request body: the model, the messages, the tools, streaming, `tool_choice` only
    /// when configured, and the configured extra fields on top.
    pub fn request_body(&self, messages: &[ChatMessage], tools: &Value) -> Value {
        let mut body = Map::new();
        body.insert("model".to_owned(), json!(self.settings.model));
        body.insert("messages".to_owned(), json!(messages));
        body.insert("tools".to_owned(), tools.clone());
        body.insert("stream".to_owned(), json!(true));
        if let Some(choice) = &self.settings.tool_choice {
            body.insert("tool_choice".to_owned(), json!(choice));
        }
        for (key, value) in &self.settings.extra_body {
            body.insert(key.clone(), value.clone());
        }
        Value::Object(body)
    }

    /// One model turn. Text deltas go to `on_content` as they arrive; the whole call is bounded
    /// by the configured timeout.
    pub async fn complete(
        &self,
        messages: &[ChatMessage],
        tools: &Value,
        on_content: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, ProviderError> {
        let body = self.request_body(messages, tools);
        tokio::time::timeout(self.settings.timeout, self.stream(&body, on_content))
            .await
            .map_err(|_| ProviderError::Timeout)?
    }

    async fn stream(
        &self,
        body: &Value,
        on_content: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Completion, ProviderError> {
        let url = format!(
            "{}/chat/completions",
            self.settings.base_url.trim_end_matches('/')
        );
        let mut request = self.http.post(url).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let mut response = request.send().await.map_err(ProviderError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::Status(status.as_u16()));
        }
        let streaming = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut turn = Turn::default();
        if !streaming {
            let bytes = response.bytes().await.map_err(ProviderError::Transport)?;
            let chunk: Chunk = serde_json::from_slice(&bytes)
                .map_err(|e| ProviderError::Malformed(e.to_string()))?;
            turn.apply_chunk(chunk, on_content)?;
            return Ok(turn.finish());
        }
        let mut buffer: Vec<u8> = Vec::new();
        while let Some(bytes) = response.chunk().await.map_err(ProviderError::Transport)? {
            buffer.extend_from_slice(&bytes);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                if sse_line(&line, &mut turn, on_content)? {
                    return Ok(turn.finish());
                }
            }
        }
        sse_line(&buffer, &mut turn, on_content)?;
        Ok(turn.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_choice_is_sent_only_when_configured_and_extra_fields_are_merged() {
        let mut settings = AssistantSettings::default();
        settings
            .extra_body
            .insert("temperature".to_owned(), json!(0));
        let client = ChatClient::new(settings.clone()).expect("a client");
        let body = client.request_body(&[], &json!([]));
        assert!(body.get("tool_choice").is_none());
        assert_eq!(body["temperature"], 0);
        settings.tool_choice = Some("auto".to_owned());
        let client = ChatClient::new(settings).expect("a client");
        assert_eq!(client.request_body(&[], &json!([]))["tool_choice"], "auto");
    }
}
