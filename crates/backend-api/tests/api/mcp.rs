//! `/mcp`: the task tools for external agents over MCP streamable HTTP, authenticated by a
//! bearer JWT whose audience is the endpoint's URL, acting only as the token's user.

use backend_api::mcp::McpSettings;
use backend_api::startup::BuildOptions;
use common::auth::{Claims, mint_hs256_claims};
use serde_json::{Value, json};

use crate::assistant_scripted::{decide, outbox_events};
use crate::helpers::{SECRET, TestApp, spawn_app_with};

const MCP_URL: &str = "https://tasks.example.com/mcp";

fn mcp_token(user: &str, audience: Option<&str>, expires_in: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims {
        sub: user.to_owned(),
        exp: now.saturating_add_signed(expires_in),
        iat: Some(now),
        nbf: None,
        aud: audience.map(|a| json!(a)),
        token_use: Some(common::auth::MCP_TOKEN_USE.to_owned()),
    };
    mint_hs256_claims(SECRET, &claims).unwrap()
}

async fn spawn() -> TestApp {
    spawn_app_with(BuildOptions {
        mcp: McpSettings::for_url(MCP_URL).unwrap(),
        ..BuildOptions::default()
    })
    .await
}

/// One JSON-RPC call to `/mcp` with `token`; the status and the JSON body (if any).
async fn rpc(app: &TestApp, token: &str, method: &str, params: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/mcp", app.address))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn call(app: &TestApp, user: &str, tool: &str, arguments: Value) -> Value {
    let token = mcp_token(user, Some(MCP_URL), 300);
    let (status, body) = rpc(
        app,
        &token,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

#[tokio::test]
async fn tokens_not_issued_for_the_mcp_url_or_expired_are_refused_with_a_challenge() {
    let app = spawn().await;
    let initialize = json!({"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "test", "version": "1"}});
    let cases = [
        ("no audience (a REST token)", mcp_token("alice", None, 300)),
        (
            "another audience",
            mcp_token("alice", Some("https://other.example.com/mcp"), 300),
        ),
        ("expired", mcp_token("alice", Some(MCP_URL), -120)),
        ("not a token", "nonsense".to_owned()),
    ];
    for (case, token) in cases {
        let (status, body) = rpc(&app, &token, "initialize", initialize.clone()).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{case}");
    }
    let response = app
        .client
        .post(format!("{}/mcp", app.address))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert_eq!(
        challenge,
        "Bearer resource_metadata=\"https://tasks.example.com/.well-known/oauth-protected-resource/mcp\""
    );
    let metadata: Value = app
        .client
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            app.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], MCP_URL);

    // The right token gets through the handshake.
    let (status, body) = rpc(
        &app,
        &mcp_token("alice", Some(MCP_URL), 300),
        "initialize",
        initialize,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "taskfleet");
}

#[tokio::test]
async fn a_host_that_is_not_allowed_is_refused() {
    let app = spawn().await;
    let response = app
        .client
        .post(format!("{}/mcp", app.address))
        .bearer_auth(mcp_token("alice", Some(MCP_URL), 300))
        .header("host", "evil.example.net")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn tools_list_and_tools_call_act_as_the_tokens_user_only() {
    let app = spawn().await;
    let (status, body) = rpc(
        &app,
        &mcp_token("alice", Some(MCP_URL), 300),
        "tools/list",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "add_task",
            "complete_task",
            "complete_tasks",
            "delete_task",
            "delete_tasks",
            "find_tasks",
            "get_stats",
            "get_task",
            "list_tasks",
            "reopen_task",
            "update_task"
        ]
    );
    for tool in body["result"]["tools"].as_array().unwrap() {
        assert!(
            tool["inputSchema"]["properties"].get("user_id").is_none(),
            "{tool}"
        );
    }

    // add_task: a phrase in the agent's zone, created for alice with actor assistant.
    let result = call(
        &app,
        "alice",
        "add_task",
        json!({"title": "Buy milk", "when": "tomorrow 5pm", "tags": ["home"],
               "priority": "high", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert_eq!(result["isError"], false, "{result}");
    let task = result["structuredContent"]["created"].clone();
    let id = task["id"].as_str().unwrap().to_owned();
    let (status, stored) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(stored["title"], "Buy milk");
    assert_eq!(stored["priority"], "high");
    let due: chrono::DateTime<chrono::Utc> = stored["due_date"].as_str().unwrap().parse().unwrap();
    let local = due.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(local.format("%H:%M").to_string(), "17:00");
    assert_eq!(
        local.date_naive(),
        chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Berlin)
            .date_naive()
            .succ_opt()
            .unwrap()
    );
    assert_eq!(
        outbox_events(&app).await,
        [(
            "task-created".to_owned(),
            "assistant".to_owned(),
            "alice".to_owned()
        )]
    );

    // Bob's token cannot see, change or delete alice's task.
    for (tool, arguments) in [
        ("get_task", json!({"id": id})),
        ("update_task", json!({"id": id, "title": "mine now"})),
        ("complete_task", json!({"id": id})),
        ("delete_task", json!({"id": id})),
    ] {
        let result = call(&app, "bob", tool, arguments).await;
        assert_eq!(result["isError"], true, "{tool}: {result}");
        assert_eq!(
            result["structuredContent"]["error"]["code"], "not_found",
            "{tool}"
        );
    }
    let listed = call(&app, "bob", "list_tasks", json!({})).await;
    assert_eq!(listed["structuredContent"]["tasks"], json!([]), "{listed}");
    let (_, stored) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(stored["title"], "Buy milk");
    assert_eq!(stored["status"], "pending");

    // delete_task over MCP draws a card the user decides in the app.
    let result = call(&app, "alice", "delete_task", json!({"id": id})).await;
    assert_eq!(
        result["structuredContent"]["status"],
        "confirmation_required"
    );
    let (status, _) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(status, 200, "deleted on the agent's word");
    let (_, pending) = app.get_json("alice", "/api/assistant/confirmations").await;
    assert_eq!(pending["items"][0]["source"], "mcp");
    let card = pending["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = decide(&app, "alice", &card, true).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(status, 404);

    // Unknown tools and bad zones are protocol errors, not 500s.
    let token = mcp_token("alice", Some(MCP_URL), 300);
    let (status, body) = rpc(
        &app,
        &token,
        "tools/call",
        json!({"name": "drop_database", "arguments": {}}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["error"]["code"].is_i64(), "{body}");
    let (_, body) = rpc(
        &app,
        &token,
        "tools/call",
        json!({"name": "list_tasks", "arguments": {"timezone": "Mars/Olympus"}}),
    )
    .await;
    assert!(body["error"]["code"].is_i64(), "{body}");
}

#[tokio::test]
async fn an_agent_token_opens_nothing_but_mcp_so_an_agent_cannot_confirm_its_own_cards() {
    let app = spawn().await;
    let task = app.create_ok("alice", json!({"title": "keep"})).await;
    let id = task["id"].as_str().unwrap();
    let result = call(&app, "alice", "delete_task", json!({"id": id})).await;
    let card = result["structuredContent"]["confirmation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = mcp_token("alice", Some(MCP_URL), 300);
    let attempts = [
        app.client.get(format!("{}/api/tasks", app.address)),
        app.client.delete(format!("{}/api/tasks/{id}", app.address)),
        app.client
            .post(format!(
                "{}/api/assistant/confirmations/{card}",
                app.address
            ))
            .json(&json!({"confirm": true})),
    ];
    for attempt in attempts {
        let response = attempt.bearer_auth(&agent).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let (status, _) = app.get_json("alice", &format!("/api/tasks/{id}")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oversized_requests_are_refused_cheaply() {
    let app = spawn().await;
    // Too many ids for one card: refused before any of them is looked at.
    let ids: Vec<String> = (0..5_000).map(|i| format!("{i:08}")).collect();
    let result = call(&app, "alice", "delete_tasks", json!({"ids": ids})).await;
    assert_eq!(
        result["structuredContent"]["error"]["code"],
        "invalid_arguments"
    );
    // A body over 1 MiB never reaches a tool.
    let token = mcp_token("alice", Some(MCP_URL), 300);
    let big = "x".repeat(2 * 1024 * 1024);
    let response = app
        .client
        .post(format!("{}/mcp", app.address))
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "add_task", "arguments": {"title": big}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}
