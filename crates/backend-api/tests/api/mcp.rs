//! `/mcp`: the task tools for external agents over MCP streamable HTTP, authenticated by a
//! bearer JWT whose audience is the endpoint's URL, acting only as the token's user.

use backend_api::Settings;
use backend_api::mcp::McpSettings;
use common::auth::{Claims, mint_hs256_claims};
use serde_json::{Value, json};
use testkit::SendJson;

use crate::assistant_scripted::{decide, outbox_events};
use crate::helpers::{SECRET, TestApp, spawn_app_with};

const MCP_URL: &str = "https://tasks.example.com/mcp";

fn mcp_token(user: &str, audience: Option<&str>, expires_in: i64) -> String {
    mcp_token_with_id(user, audience, expires_in, None)
}

fn mcp_token_with_id(
    user: &str,
    audience: Option<&str>,
    expires_in: i64,
    jti: Option<String>,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims {
        jti,
        sub: user.to_owned(),
        exp: now.saturating_add_signed(expires_in),
        iat: Some(now),
        nbf: None,
        aud: audience.map(|a| json!(a)),
        token_use: Some(common::auth::MCP_TOKEN_USE.to_owned()),
    };
    mint_hs256_claims(SECRET, &claims).unwrap()
}

/// A token for `user`'s agent as the UI makes one: registered first, its id as `jti`.
async fn agent_token(app: &TestApp, user: &str) -> String {
    let row = backend_api::mcp::tokens::register(
        &app.pool,
        user,
        "test agent",
        chrono::Duration::days(1),
    )
    .await
    .unwrap();
    mcp_token_with_id(user, Some(MCP_URL), 300, Some(row.id.to_string()))
}

async fn spawn() -> TestApp {
    spawn_app_with(|defaults| Settings {
        mcp: McpSettings::for_url(MCP_URL).unwrap(),
        ..defaults
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
    let token = agent_token(app, user).await;
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
        (
            "never registered (no jti)",
            mcp_token("alice", Some(MCP_URL), 300),
        ),
        (
            "an unknown jti",
            mcp_token_with_id(
                "alice",
                Some(MCP_URL),
                300,
                Some(uuid::Uuid::new_v4().to_string()),
            ),
        ),
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
        .send_json()
        .await;
    assert_eq!(metadata["resource"], MCP_URL);

    // The right token gets through the handshake.
    let (status, body) = rpc(
        &app,
        &agent_token(&app, "alice").await,
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
        .bearer_auth(agent_token(&app, "alice").await)
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
        &agent_token(&app, "alice").await,
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
    let token = agent_token(&app, "alice").await;
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
    let agent = agent_token(&app, "alice").await;
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
    let token = agent_token(&app, "alice").await;
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

#[tokio::test]
async fn a_user_lists_and_revokes_their_agent_tokens_and_a_revoked_token_stops_at_once() {
    let app = spawn().await;
    let initialize = json!({"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "test", "version": "1"}});
    let register = |user: &'static str, body: Value| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(format!("{}/api/agent-tokens", app.address))
                .bearer_auth(crate::helpers::token(user))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, desktop) = register("alice", json!({"label": "Claude Desktop"})).await;
    assert_eq!(status, 201, "{desktop}");
    let (_, script) = register("alice", json!({"expires_in_days": 1})).await;
    assert_eq!(script["label"], "Agent");
    for bad in [
        json!({"label": ""}),
        json!({"expires_in_days": 0}),
        json!({"expires_in_days": 91}),
    ] {
        assert_eq!(register("alice", bad.clone()).await.0, 422, "{bad}");
    }
    let token_for = |row: &Value| {
        mcp_token_with_id(
            "alice",
            Some(MCP_URL),
            300,
            Some(row["id"].as_str().unwrap().to_owned()),
        )
    };
    let (desktop_token, script_token) = (token_for(&desktop), token_for(&script));
    assert_eq!(
        rpc(&app, &desktop_token, "initialize", initialize.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        rpc(&app, &script_token, "initialize", initialize.clone())
            .await
            .0,
        200
    );
    // Someone else's jti in alice's name does not pass either.
    let (_, bobs) = register("bob", json!({})).await;
    let borrowed = mcp_token_with_id(
        "alice",
        Some(MCP_URL),
        300,
        Some(bobs["id"].as_str().unwrap().to_owned()),
    );
    assert_eq!(
        rpc(&app, &borrowed, "initialize", initialize.clone())
            .await
            .0,
        401
    );

    let (status, listed) = app.get_json("alice", "/api/agent-tokens").await;
    assert_eq!(status, 200);
    let labels: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["Agent", "Claude Desktop"],
        "newest first, only alice's"
    );
    assert!(listed["items"][1]["last_used_at"].is_string(), "{listed}");

    let desktop_id = desktop["id"].as_str().unwrap();
    let revoke = |user: &'static str, path: String| {
        let app = &app;
        async move {
            app.client
                .delete(format!("{}{path}", app.address))
                .bearer_auth(crate::helpers::token(user))
                .send()
                .await
                .unwrap()
        }
    };
    let by_bob = revoke("bob", format!("/api/agent-tokens/{desktop_id}")).await;
    assert_eq!(by_bob.status(), 404, "bob cannot revoke alice's token");
    assert_eq!(
        rpc(&app, &desktop_token, "initialize", initialize.clone())
            .await
            .0,
        200
    );
    let revoked = revoke("alice", format!("/api/agent-tokens/{desktop_id}")).await;
    assert_eq!(revoked.status(), 204);
    let (status, body) = rpc(&app, &desktop_token, "initialize", initialize.clone()).await;
    assert_eq!(status, 401, "revoked: {body}");
    assert_eq!(
        rpc(&app, &script_token, "initialize", initialize.clone())
            .await
            .0,
        200
    );
    let (_, listed) = app.get_json("alice", "/api/agent-tokens").await;
    assert!(listed["items"][1]["revoked_at"].is_string(), "{listed}");

    // Signing out of every device revokes what is left.
    let all = revoke("alice", "/api/agent-tokens".to_owned()).await;
    assert_eq!(all.status(), 200);
    assert_eq!(all.json::<Value>().await.unwrap()["revoked"], 1);
    assert_eq!(
        rpc(&app, &script_token, "initialize", initialize.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        rpc(&app, &borrowed, "initialize", initialize.clone())
            .await
            .0,
        401
    );
    let (_, bobs_list) = app.get_json("bob", "/api/agent-tokens").await;
    assert!(
        bobs_list["items"][0]["revoked_at"].is_null(),
        "bob's token is untouched"
    );

    // An agent token cannot manage the registry (it would un-revoke or mint itself).
    let as_agent = app
        .client
        .post(format!("{}/api/agent-tokens", app.address))
        .bearer_auth(agent_token(&app, "alice").await)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(as_agent.status(), 401);
}

/// `find_tasks` offers the list's views: tags combined with `any`, and the due views read in
/// the agent's zone.
#[tokio::test]
async fn find_tasks_combines_tags_with_any_and_reads_the_due_views_in_the_agents_zone() {
    let app = spawn().await;
    let zone = chrono_tz::Europe::Berlin;
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let noon = |days: i64| {
        let day = today + chrono::Duration::days(days);
        day.and_hms_opt(12, 0, 0)
            .unwrap()
            .and_local_timezone(zone)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .to_rfc3339()
    };
    for (title, tags, due) in [
        ("work today", json!(["work"]), Some(noon(0))),
        ("home yesterday", json!(["home"]), Some(noon(-1))),
        ("misc in three days", json!(["misc"]), Some(noon(3))),
        ("work undated", json!(["work", "later"]), None),
    ] {
        app.create_ok(
            "alice",
            json!({"title": title, "tags": tags, "due_date": due}),
        )
        .await;
    }
    let found = |arguments: Value| {
        let app = &app;
        async move {
            let result = call(app, "alice", "find_tasks", arguments).await;
            assert_eq!(result["isError"], false, "{result}");
            crate::helpers::sorted_titles(&result["structuredContent"]["tasks"])
        }
    };
    let berlin = |mut arguments: Value| {
        arguments["timezone"] = json!("Europe/Berlin");
        arguments
    };
    assert_eq!(
        found(json!({"tags": ["work", "home"], "tag_mode": "any"})).await,
        ["home yesterday", "work today", "work undated"]
    );
    assert_eq!(
        found(json!({"tags": ["work", "later"]})).await,
        ["work undated"]
    );
    assert_eq!(found(berlin(json!({"due": "today"}))).await, ["work today"]);
    assert_eq!(
        found(berlin(json!({"due": "upcoming"}))).await,
        ["misc in three days", "work today"]
    );
    // Overdue is before now: today's noon too once it has passed.
    let mut overdue = vec!["home yesterday"];
    if noon(0).parse::<chrono::DateTime<chrono::Utc>>().unwrap() < chrono::Utc::now() {
        overdue.push("work today");
    }
    assert_eq!(found(berlin(json!({"due": "overdue"}))).await, overdue);
    let refused = call(&app, "alice", "find_tasks", json!({"tag_mode": "some"})).await;
    assert_eq!(refused["isError"], true, "{refused}");
}
