//! Provider differences and failures: parallel calls that all carry index 0, servers without
//! `tool_choice`, reasoning models, errors and timeouts — each ends in a clean stream.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::assistant_scripted::{
    Reply, item_kinds, names, new_thread, provider_settings, send_message, spawn_scripted,
    spawn_with, start_provider, text_reply, tool_reply,
};

fn assistant_messages(request: &Value) -> Vec<Value> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "assistant")
        .cloned()
        .collect()
}

#[tokio::test]
async fn parallel_tool_calls_that_all_have_index_zero_run_as_separate_calls() {
    let chunk = |id: Option<&str>, name: Option<&str>, args: &str| {
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": args}}]}}]})
    };
    let (app, script) = spawn_scripted(vec![
        Reply::Sse(vec![
            chunk(Some("call_a"), Some("add_task"), "{\"title\":"),
            chunk(None, None, "\"one\"}"),
            chunk(Some("call_b"), Some("add_task"), "{\"title\":\"two\"}"),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        ]),
        text_reply("Added both."),
    ])
    .await;
    let thread = new_thread(&app, "alice").await;
    let events = send_message(&app, "alice", &thread, "add one and two").await;
    assert_eq!(
        names(&events)
            .iter()
            .filter(|n| **n == "tool_call.finished")
            .count(),
        2
    );
    let (_, page) = app.get_json("alice", "/api/tasks?sort=title").await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["one", "two"]);
    let second = &script.requests()[1];
    let calls = &assistant_messages(second)[0]["tool_calls"];
    assert_eq!(calls[0]["id"], "call_a");
    assert_eq!(calls[1]["id"], "call_b");
    let answered: Vec<&str> = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["tool_call_id"].as_str().unwrap())
        .collect();
    assert_eq!(answered, ["call_a", "call_b"]);
}

#[tokio::test]
async fn tool_choice_is_omitted_unless_configured_and_extra_fields_are_sent() {
    let (app, script) = spawn_scripted(vec![text_reply("hi")]).await;
    let thread = new_thread(&app, "alice").await;
    send_message(&app, "alice", &thread, "hello").await;
    let request = &script.requests()[0];
    assert!(request.get("tool_choice").is_none(), "{request}");
    assert_eq!(request["model"], "scripted-model");
    assert_eq!(request["stream"], true);
    assert_eq!(request["tools"].as_array().unwrap().len(), 11);

    let (base, script) = start_provider(vec![text_reply("hi")]).await;
    let mut settings = provider_settings(&base);
    settings.tool_choice = Some("auto".to_owned());
    settings
        .extra_body
        .insert("temperature".to_owned(), json!(0));
    let app = spawn_with(settings).await;
    let thread = new_thread(&app, "alice").await;
    send_message(&app, "alice", &thread, "hello").await;
    let request = &script.requests()[0];
    assert_eq!(request["tool_choice"], "auto");
    assert_eq!(request["temperature"], 0);
}

#[tokio::test]
async fn reasoning_content_is_sent_back_on_the_next_turn_and_kept_in_the_thread() {
    let (app, script) = spawn_scripted(vec![
        Reply::Sse(vec![
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "reasoning_content": "The user wants "}}]}),
            json!({"choices": [{"index": 0, "delta": {"reasoning_content": "their stats."}}]}),
            json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "s1", "type": "function", "function": {"name": "get_stats", "arguments": "{}"}}]}}]}),
        ]),
        text_reply("You have nothing pending."),
        text_reply("Still nothing."),
    ])
    .await;
    let thread = new_thread(&app, "alice").await;
    send_message(&app, "alice", &thread, "how am I doing?").await;
    let requests = script.requests();
    let replayed = &assistant_messages(&requests[1])[0];
    assert_eq!(replayed["reasoning_content"], "The user wants their stats.");
    assert_eq!(replayed["tool_calls"][0]["id"], "s1");
    // A later message rebuilds the context from the stored thread, reasoning included.
    send_message(&app, "alice", &thread, "and now?").await;
    let third = &script.requests()[2];
    let history = assistant_messages(third);
    assert_eq!(
        history[0]["reasoning_content"],
        "The user wants their stats."
    );
    assert_eq!(history[1]["content"], "You have nothing pending.");
}

#[tokio::test]
async fn a_provider_error_ends_the_stream_with_an_error_item() {
    let (app, script) = spawn_scripted(vec![Reply::Status(500), text_reply("back")]).await;
    let thread = new_thread(&app, "alice").await;
    let events = send_message(&app, "alice", &thread, "hello").await;
    let error = events.iter().find(|e| e.event == "error").unwrap();
    assert_eq!(error.data["error"]["code"], "provider_error");
    assert_eq!(names(&events).last(), Some(&"error"));
    assert!(
        !error.data.to_string().contains("scripted failure"),
        "provider internals reached the client"
    );
    let (_, items) = app
        .get_json("alice", &format!("/api/assistant/threads/{thread}/items"))
        .await;
    let kinds = item_kinds(&items);
    assert_eq!(kinds, ["user_message", "error"]);
    // The thread goes on afterwards.
    let events = send_message(&app, "alice", &thread, "again").await;
    assert_eq!(names(&events).last(), Some(&"done"));
    assert_eq!(script.requests().len(), 2);
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_gives_a_timeout_item_not_a_hung_stream() {
    let (base, _script) = start_provider(vec![Reply::Hang(Duration::from_secs(30))]).await;
    let mut settings = provider_settings(&base);
    settings.timeout = Duration::from_secs(1);
    let app = spawn_with(settings).await;
    let thread = new_thread(&app, "alice").await;
    let started = Instant::now();
    let events = send_message(&app, "alice", &thread, "hello").await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let error = events.iter().find(|e| e.event == "error").unwrap();
    assert_eq!(error.data["error"]["code"], "provider_timeout");
}

#[tokio::test]
async fn a_model_that_keeps_calling_tools_is_stopped_after_the_round_limit() {
    let (base, script) = start_provider(
        (0..5)
            .map(|i| tool_reply(&[(format!("s{i}").as_str(), "get_stats", json!({}))]))
            .collect(),
    )
    .await;
    let mut settings = provider_settings(&base);
    settings.max_rounds = 3;
    let app = spawn_with(settings).await;
    let thread = new_thread(&app, "alice").await;
    let events = send_message(&app, "alice", &thread, "loop").await;
    let error = events.iter().find(|e| e.event == "error").unwrap();
    assert_eq!(error.data["error"]["code"], "too_many_rounds");
    assert_eq!(script.requests().len(), 3);
}

#[tokio::test]
async fn a_server_that_ignores_stream_and_answers_json_is_understood() {
    let (app, _script) = spawn_scripted(vec![Reply::Json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "plain answer"},
                     "finish_reason": "stop"}]}))])
    .await;
    let thread = new_thread(&app, "alice").await;
    let events = send_message(&app, "alice", &thread, "hello").await;
    let done = events.iter().find(|e| e.event == "item.done").unwrap();
    assert_eq!(done.data["content"]["text"], "plain answer");
}
