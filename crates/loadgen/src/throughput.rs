//! Throughput phases: `clients` workers send requests back to back for the duration, each
//! request as one of `--users` users.
//!
//! * `create-task`: `POST /api/tasks` (the write path: task row + outbox row, then every
//!   consumer's work behind it);
//! * `list-rest` / `list-mcp`: the same read — the user's first 20 pending tasks — through
//!   `GET /api/tasks` and through `/mcp` `tools/call list_tasks` (JSON-RPC, stateless), so the
//!   MCP layer's cost shows against the REST handler's. The reads go to the `read-user-N`
//!   users, whose tasks `bench/run.sh` seeds (a fixed number each), not to the users the write
//!   phases filled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Options;
use crate::report::Measured;

pub fn tokens(options: &Options, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    tokens_for(options, prefix, count, None)
}

/// Agent tokens for `/mcp`, as the UI makes them: each registered through
/// `POST /api/agent-tokens` (with the user's REST token) and carrying its id as `jti`.
async fn agent_tokens(
    options: &Options,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let http = client()?;
    let rest = tokens(options, prefix, count)?;
    let mut ids = Vec::with_capacity(count);
    for token in &rest {
        let row: serde_json::Value = http
            .post(format!("{}/api/agent-tokens", options.api))
            .bearer_auth(token)
            .json(&json!({"label": "loadgen", "expires_in_days": 1}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = row["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no id in {row}"))?;
        ids.push(Some(id.to_owned()));
    }
    tokens_for(options, prefix, count, Some((&options.mcp_url, ids)))
}

/// HS256 tokens for `count` users; for `/mcp`, with the audience and each token's `jti`.
fn tokens_for(
    options: &Options,
    prefix: &str,
    count: usize,
    agent: Option<(&str, Vec<Option<String>>)>,
) -> anyhow::Result<Vec<String>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let (audience, ids) = match agent {
        Some((audience, ids)) => (Some(audience), ids),
        None => (None, vec![None; count]),
    };
    (0..count)
        .zip(ids)
        .map(|(i, jti)| {
            let claims = common::auth::Claims {
                jti,
                sub: format!("{prefix}-{i}"),
                exp: now + 3600,
                iat: Some(now),
                nbf: None,
                aud: audience.map(|a| json!(a)),
                token_use: audience.map(|_| common::auth::MCP_TOKEN_USE.to_owned()),
            };
            Ok(common::auth::mint_hs256_claims(&options.secret, &claims)?)
        })
        .collect()
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// What one phase sends: a request for the user with `token`.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync>;

/// `clients` workers send `make` requests back to back until the duration is over; a request
/// counts as ok when its status is a success and `accept` says its body is right.
async fn drive(
    options: &Options,
    clients: usize,
    tokens: Vec<String>,
    make: MakeRequest,
    accept: fn(&[u8]) -> bool,
) -> anyhow::Result<Measured> {
    let tokens = Arc::new(tokens);
    let http = client()?;
    let started = Instant::now();
    let deadline = started + options.duration;
    let workers = (0..clients).map(|worker| {
        let (http, tokens, make) = (http.clone(), tokens.clone(), make.clone());
        tokio::spawn(async move {
            let mut measured = Measured::new();
            let mut n = worker;
            while Instant::now() < deadline {
                let token = &tokens[n % tokens.len()];
                n += clients;
                let sent = Instant::now();
                let outcome = match make(&http, token).send().await {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok_and(|body| accept(&body))
                    }
                    _ => false,
                };
                if outcome {
                    measured.record(sent.elapsed().as_micros() as u64);
                    measured.ok += 1;
                } else {
                    measured.errors += 1;
                }
            }
            measured
        })
    });
    let mut total = Measured::new();
    for worker in futures::future::join_all(workers).await {
        total.merge(&worker?);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

pub async fn create_tasks(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let url = format!("{}/api/tasks", options.api);
    let body = json!({"title": "a task title", "description": "some description", "priority": "high", "tags": ["work", "home"]});
    let make: MakeRequest =
        Arc::new(move |http, token| http.post(&url).bearer_auth(token).json(&body));
    let tokens = tokens(options, "load-user", options.users)?;
    drive(options, clients, tokens, make, |_| true).await
}

/// The read through REST: the user's first 20 pending tasks, soonest due first.
pub async fn list_rest(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let url = format!(
        "{}/api/tasks?status=pending&sort=due_date&limit=20",
        options.api
    );
    let make: MakeRequest = Arc::new(move |http, token| http.get(&url).bearer_auth(token));
    let tokens = tokens(options, "read-user", options.users)?;
    drive(options, clients, tokens, make, |_| true).await
}

/// The same read through `/mcp`: `tools/call list_tasks` with a token for the MCP audience.
pub async fn list_mcp(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let url = format!("{}/mcp", options.api);
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "list_tasks", "arguments": {"limit": 20}}});
    let make: MakeRequest = Arc::new(move |http, token| {
        http.post(&url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&call)
    });
    let tokens = agent_tokens(options, "read-user", options.users).await?;
    // A JSON-RPC error or a tool error comes with 200: only a result with `"isError":false`
    // counts. Looked for as bytes, not parsed: the load generator shares the cores with the
    // server, and parsing every reply would charge MCP for the client's work.
    let accept = |body: &[u8]| {
        let marker = br#""isError":false"#;
        body.windows(marker.len()).any(|w| w == marker)
    };
    drive(options, clients, tokens, make, accept).await
}
