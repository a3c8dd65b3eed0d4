//! The assistant's bounds: bulk changes only on the user's confirmation, cards that expire,
//! paged and deletable threads, and a per-user daily token budget.

use reqwest::Method;
use serde_json::{Value, json};

use crate::assistant_scripted::{
    Reply, ask_for_card, decide, item_kinds, new_thread, post_message, provider_settings,
    send_message, spawn_scripted, spawn_with, start_provider, text_reply, tool_reply, tool_results,
};
use crate::helpers::{TestApp, error_code};

async fn status_of(app: &TestApp, id: &str) -> (u16, String) {
    let (status, task) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    (
        status,
        task["status"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn bulk_changes_wait_for_one_confirmation_and_then_apply_to_every_task_together() {
    let (app, script) = spawn_scripted(Vec::new()).await;
    let mut ids = Vec::new();
    for title in ["a", "b", "c"] {
        let task = app.create_ok("alice", json!({"title": title})).await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    let bobs = app.create_ok("bob", json!({"title": "bob's"})).await;
    let thread = new_thread(&app, "alice").await;

    // A bulk card may not name another user's task: the whole call fails, nothing is drawn.
    script.push(tool_reply(&[(
        "x",
        "complete_tasks",
        json!({"ids": [ids[0], bobs["id"]]}),
    )]));
    script.push(text_reply("That did not work."));
    let events = send_message(&app, "alice", &thread, "complete a and bob's").await;
    assert_eq!(tool_results(&events)[0]["error"]["code"], "not_found");

    script.push(tool_reply(&[(
        "c1",
        "complete_tasks",
        json!({"ids": [ids[0], ids[1], ids[0]]}),
    )]));
    script.push(text_reply("Confirm in the card."));
    let events = send_message(&app, "alice", &thread, "complete a and b").await;
    let card = tool_results(&events)[0]["confirmation"].clone();
    assert_eq!(card["action"], "complete_tasks");
    assert_eq!(card["tasks"].as_array().unwrap().len(), 2, "{card}");
    assert!(card["expires_at"].is_string());
    for id in &ids {
        assert_eq!(
            status_of(&app, id).await.1,
            "pending",
            "changed before confirm"
        );
    }
    // The app lists the card as waiting, with the tasks as they are now.
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    assert_eq!(pending["items"][0]["id"], card["id"]);
    assert_eq!(pending["items"][0]["tasks"][1]["task"]["title"], "b");
    let (_, others) = app.get_json("bob", "/api/assistant/confirmations").await;
    assert_eq!(others["items"], json!([]));

    let (status, body) = decide(&app, "alice", card["id"].as_str().unwrap(), true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task_ids"], json!([ids[0], ids[1]]));
    assert_eq!(status_of(&app, &ids[0]).await.1, "completed");
    assert_eq!(status_of(&app, &ids[1]).await.1, "completed");
    assert_eq!(status_of(&app, &ids[2]).await.1, "pending");
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    assert_eq!(pending["items"], json!([]));

    // delete_tasks: one task changed since the card → 412 and nothing at all is deleted.
    let both = ("delete_tasks", json!({"ids": [ids[1], ids[2]]}));
    let card = ask_for_card(&app, &script, &thread, "delete b and c", both.clone()).await;
    let response = app
        .request(Method::PATCH, &format!("/api/tasks/{}", ids[2]), "alice")
        .json(&json!({"title": "c, edited"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = decide(&app, "alice", &card, true).await;
    assert_eq!(status, 412);
    assert_eq!(
        status_of(&app, &ids[1]).await.0,
        200,
        "half a bulk delete ran"
    );
    assert_eq!(status_of(&app, &ids[2]).await.0, 200);
    // A task deleted since the card: 412 task_changed, and the other task stays.
    let card = ask_for_card(&app, &script, &thread, "delete b and c", both).await;
    let response = app
        .request(Method::DELETE, &format!("/api/tasks/{}", ids[2]), "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    let listed = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == card.as_str())
        .unwrap()["tasks"]
        .clone();
    assert_eq!(listed[1]["task"], Value::Null, "{listed}");
    assert_eq!(listed[1]["changed"], true);
    assert_eq!(listed[0]["changed"], false);
    let (status, body) = decide(&app, "alice", &card, true).await;
    assert_eq!(
        (status, error_code(&body)),
        (412, "task_changed".to_owned())
    );
    assert_eq!(
        status_of(&app, &ids[1]).await.0,
        200,
        "half a bulk delete ran"
    );
}

#[tokio::test]
async fn a_card_confirmed_twice_at_once_acts_once() {
    let (app, script) = spawn_scripted(Vec::new()).await;
    let task = app.create_ok("alice", json!({"title": "once"})).await;
    let id = task["id"].as_str().unwrap();
    let thread = new_thread(&app, "alice").await;
    let delete = ("delete_task", json!({"id": id}));
    let card = ask_for_card(&app, &script, &thread, "delete once", delete).await;
    let (first, second) = tokio::join!(
        decide(&app, "alice", &card, true),
        decide(&app, "alice", &card, true)
    );
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let deletions = app
        .outbox_topics()
        .await
        .iter()
        .filter(|t| *t == "task-deleted")
        .count();
    assert_eq!(deletions, 1);
}

#[tokio::test]
async fn an_expired_card_cannot_be_confirmed_and_the_model_hears_it_expired() {
    let (base, script) = start_provider(Vec::new()).await;
    let mut settings = provider_settings(&base);
    settings.confirmation_ttl = std::time::Duration::from_secs(1);
    let app = spawn_with(settings).await;
    let task = app.create_ok("alice", json!({"title": "keep me"})).await;
    let id = task["id"].as_str().unwrap();
    let thread = new_thread(&app, "alice").await;
    let delete = ("delete_task", json!({"id": id}));
    let card = ask_for_card(&app, &script, &thread, "delete keep me", delete).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    assert_eq!(
        pending["items"],
        json!([]),
        "an expired card is still offered"
    );
    let (status, body) = decide(&app, "alice", &card, true).await;
    assert_eq!(status, 410);
    assert_eq!(error_code(&body), "confirmation_expired");
    assert_eq!(status_of(&app, id).await.0, 200, "an expired card deleted");
    let (status, _) = decide(&app, "alice", &card, true).await;
    assert_eq!(status, 409, "an expired card is decided for good");
    script.push(text_reply("Okay."));
    send_message(&app, "alice", &thread, "hm").await;
    let last = script.requests().last().unwrap().to_string();
    assert!(last.contains("expired before I decided"), "{last}");
}

#[tokio::test]
async fn threads_page_by_cursor_and_a_deleted_thread_takes_its_items_and_cards_with_it() {
    let (app, script) = spawn_scripted(Vec::new()).await;
    let mut threads = Vec::new();
    for _ in 0..5 {
        threads.push(new_thread(&app, "alice").await);
    }
    new_thread(&app, "bob").await;
    let mut seen = Vec::new();
    let mut path = "/api/assistant/threads?limit=2".to_owned();
    loop {
        let (status, page) = app.get_json("alice", &path).await;
        assert_eq!(status, 200, "{page}");
        for thread in page["items"].as_array().unwrap() {
            seen.push(thread["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/assistant/threads?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    threads.reverse();
    assert_eq!(seen, threads, "newest first, each once, only alice's");
    let (status, body) = app
        .get_json("alice", "/api/assistant/threads?cursor=bm90LWEtY3Vyc29y")
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_cursor".into()));
    let (status, _) = app
        .get_json("alice", "/api/assistant/threads?limit=0")
        .await;
    assert_eq!(status, 422);

    // Items page backwards from the newest.
    let thread = threads[0].clone();
    for word in ["one", "two", "three"] {
        script.push(text_reply(word));
        send_message(&app, "alice", &thread, word).await;
    }
    let base = format!("/api/assistant/threads/{thread}/items");
    let (_, newest) = app.get_json("alice", &format!("{base}?limit=4")).await;
    let kinds = item_kinds(&newest);
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message"
        ]
    );
    assert_eq!(newest["items"][2]["content"]["text"], "three");
    let cursor = newest["next_cursor"].as_str().unwrap();
    let (_, older) = app
        .get_json("alice", &format!("{base}?limit=4&cursor={cursor}"))
        .await;
    assert_eq!(older["items"].as_array().unwrap().len(), 2);
    assert_eq!(older["items"][0]["content"]["text"], "one");
    assert_eq!(older["next_cursor"], Value::Null);

    // A card drawn in the thread goes with it.
    let task = app.create_ok("alice", json!({"title": "x"})).await;
    let delete = ("delete_task", json!({"id": task["id"]}));
    ask_for_card(&app, &script, &thread, "delete x", delete).await;
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);

    let delete = |user: &'static str| {
        app.request(
            Method::DELETE,
            &format!("/api/assistant/threads/{thread}"),
            user,
        )
        .send()
    };
    assert_eq!(delete("bob").await.unwrap().status(), 404);
    assert_eq!(delete("alice").await.unwrap().status(), 204);
    assert_eq!(delete("alice").await.unwrap().status(), 404);
    let (status, _) = app.get_json("alice", &base).await;
    assert_eq!(status, 404);
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    assert_eq!(pending["items"], json!([]));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM assistant_items WHERE thread_id = $1")
        .bind(uuid::Uuid::parse_str(&thread).unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(status_of(&app, task["id"].as_str().unwrap()).await.0, 200);
}

#[tokio::test]
async fn a_user_past_the_daily_token_budget_gets_a_429_and_others_are_not_affected() {
    let (base, script) = start_provider(Vec::new()).await;
    let mut settings = provider_settings(&base);
    settings.daily_token_limit = 1_000;
    let app = spawn_with(settings).await;
    let thread = new_thread(&app, "alice").await;

    // The provider's own count is used when it reports one.
    let mut chunks = vec![json!({"choices": [{"index": 0, "delta": {"content": "Hi"}}]})];
    chunks.push(json!({"choices": [], "usage": {"prompt_tokens": 590, "completion_tokens": 10, "total_tokens": 600}}));
    script.push(Reply::Sse(chunks));
    send_message(&app, "alice", &thread, "hello").await;
    let used: i64 =
        sqlx::query_scalar("SELECT tokens FROM assistant_usage WHERE user_id = 'alice'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(used, 600);

    // A tool loop stops between rounds once the budget is gone: the second model call is
    // never made.
    let mut first = vec![json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "s", "type": "function", "function": {"name": "get_stats", "arguments": "{}"}}]}}]})];
    first.push(json!({"choices": [], "usage": {"total_tokens": 500}}));
    script.push(Reply::Sse(first));
    script.push(text_reply("never sent"));
    let events = send_message(&app, "alice", &thread, "stats?").await;
    let last = events.last().unwrap();
    assert_eq!(last.event, "error", "{events:?}");
    assert_eq!(last.data["error"]["code"], "token_budget_exhausted");
    assert_eq!(script.requests().len(), 2);

    let (status, body) = post_message(&app, "alice", &thread, "more").await;
    assert_eq!(status, 429);
    assert_eq!(
        error_code(&serde_json::from_str(&body).unwrap()),
        "token_budget_exhausted"
    );
    assert_eq!(
        script.requests().len(),
        2,
        "the model was called over budget"
    );

    // Without a reported count the text is estimated, and bob has his own budget.
    let other = new_thread(&app, "bob").await;
    script.push(text_reply("Hello Bob"));
    send_message(&app, "bob", &other, "hello").await;
    let bobs: i64 = sqlx::query_scalar("SELECT tokens FROM assistant_usage WHERE user_id = 'bob'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!((100..10_000).contains(&bobs), "estimated {bobs} tokens");
}
