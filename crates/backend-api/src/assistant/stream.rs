//! Reading a Chat Completions reply: server-sent `data:` lines (or one JSON document) of
//! chunks whose deltas carry text, reasoning and tool-call fragments, folded into one
//! [`Completion`].
//!
//! Tool-call fragments are matched by `id` first and by `index` only when they carry no id:
//! some servers number every parallel call 0, and matching by index alone would glue
//! different calls into one.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::client::{Completion, FunctionCall, ProviderError, ToolCall};

/// One streamed chunk (or a whole non-streamed reply).
#[derive(Deserialize)]
pub(super) struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// Token counts (the last chunk carries them when the provider reports usage).
#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    total_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    message: Option<Delta>,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Collects streamed tool-call fragments into whole calls.
#[derive(Debug, Default)]
struct CallAccumulator {
    calls: Vec<ToolCall>,
    latest_by_index: HashMap<u32, usize>,
}

impl CallAccumulator {
    fn apply(&mut self, delta: ToolCallDelta) {
        let index = delta.index.unwrap_or(0);
        let id = delta.id.filter(|id| !id.is_empty());
        let position = match id {
            // A new id is a new call even when its index repeats (servers that number every
            // parallel call 0).
            Some(id) => match self.calls.iter().position(|c| c.id == id) {
                Some(known) => known,
                None => self.start(id),
            },
            None => match self.latest_by_index.get(&index) {
                Some(latest) => *latest,
                None => self.start(format!("call_{}", self.calls.len())),
            },
        };
        self.latest_by_index.insert(index, position);
        let (Some(call), Some(function)) = (self.calls.get_mut(position), delta.function) else {
            return;
        };
        if let Some(name) = function.name.filter(|n| !n.is_empty())
            && call.function.name.is_empty()
        {
            call.function.name = name;
        }
        match function.arguments {
            Some(Value::String(fragment)) => call.function.arguments.push_str(&fragment),
            // Some servers send the arguments as an object rather than JSON text.
            Some(object @ Value::Object(_)) => call.function.arguments = object.to_string(),
            _ => {}
        }
    }

    fn start(&mut self, id: String) -> usize {
        self.calls.push(ToolCall {
            id,
            kind: "function".to_owned(),
            function: FunctionCall {
                name: String::new(),
                arguments: String::new(),
            },
        });
        self.calls.len() - 1
    }
}

/// The turn read so far.
#[derive(Default)]
pub(super) struct Turn {
    content: String,
    reasoning: String,
    calls: CallAccumulator,
    total_tokens: Option<u64>,
}

impl Turn {
    fn apply(&mut self, delta: Delta, on_content: &mut (dyn FnMut(&str) + Send)) {
        if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
            on_content(&text);
            self.content.push_str(&text);
        }
        if let Some(reasoning) = delta.reasoning_content.or(delta.reasoning) {
            self.reasoning.push_str(&reasoning);
        }
        for call in delta.tool_calls {
            self.calls.apply(call);
        }
    }

    pub(super) fn apply_chunk(
        &mut self,
        chunk: Chunk,
        on_content: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), ProviderError> {
        if let Some(error) = chunk.error {
            return Err(ProviderError::Reported(error.to_string()));
        }
        if let Some(total) = chunk.usage.and_then(|u| u.total_tokens) {
            self.total_tokens = Some(total);
        }
        for choice in chunk.choices {
            if let Some(delta) = choice.delta.or(choice.message) {
                self.apply(delta, on_content);
            }
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Completion {
        let tool_calls = self
            .calls
            .calls
            .into_iter()
            .filter(|c| !c.function.name.is_empty())
            .collect();
        Completion {
            content: self.content,
            reasoning_content: (!self.reasoning.is_empty()).then_some(self.reasoning),
            tool_calls,
            total_tokens: self.total_tokens,
        }
    }
}

/// Handles one SSE line; `true` at `data: [DONE]`.
pub(super) fn sse_line(
    line: &[u8],
    turn: &mut Turn,
    on_content: &mut (dyn FnMut(&str) + Send),
) -> Result<bool, ProviderError> {
    let line = String::from_utf8_lossy(line);
    let Some(data) = line.trim_end().strip_prefix("data:") else {
        return Ok(false);
    };
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(true);
    }
    if data.is_empty() {
        return Ok(false);
    }
    let chunk: Chunk =
        serde_json::from_str(data).map_err(|e| ProviderError::Malformed(e.to_string()))?;
    turn.apply_chunk(chunk, on_content)?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn turn_from(lines: &[Value]) -> Completion {
        let mut turn = Turn::default();
        let mut ignore = |_: &str| {};
        for line in lines {
            let chunk: Chunk = serde_json::from_value(line.clone()).expect("a chunk");
            turn.apply_chunk(chunk, &mut ignore).expect("no error");
        }
        turn.finish()
    }

    fn call_delta(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> Value {
        json!({"choices":[{"delta":{"tool_calls":[{"index": index, "id": id,
            "function": {"name": name, "arguments": args}}]}}]})
    }

    #[test]
    fn parallel_calls_that_all_have_index_zero_stay_separate() {
        let done = turn_from(&[
            call_delta(0, Some("a"), Some("get_task"), "{\"id\":"),
            call_delta(0, None, None, "\"1\"}"),
            call_delta(0, Some("b"), Some("get_stats"), "{}"),
        ]);
        let calls: Vec<(&str, &str, &str)> = done
            .tool_calls
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.function.name.as_str(),
                    c.function.arguments.as_str(),
                )
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                ("a", "get_task", "{\"id\":\"1\"}"),
                ("b", "get_stats", "{}")
            ]
        );
    }

    #[test]
    fn indexed_fragments_without_ids_are_joined_by_index() {
        let done = turn_from(&[
            call_delta(0, Some("a"), Some("list_tasks"), ""),
            call_delta(1, Some("b"), Some("get_stats"), ""),
            call_delta(0, None, None, "{}"),
            call_delta(1, None, None, "{}"),
        ]);
        assert_eq!(done.tool_calls.len(), 2);
        assert_eq!(done.tool_calls[0].function.arguments, "{}");
        assert_eq!(done.tool_calls[1].function.arguments, "{}");
    }

    #[test]
    fn reasoning_and_content_are_collected_apart() {
        let done = turn_from(&[
            json!({"choices":[{"delta":{"reasoning_content":"think "}}]}),
            json!({"choices":[{"delta":{"reasoning_content":"more"}}]}),
            json!({"choices":[{"delta":{"content":"Hi"}}]}),
        ]);
        assert_eq!(done.content, "Hi");
        assert_eq!(done.reasoning_content.as_deref(), Some("think more"));
    }
}
