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

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::uri::Authority;
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

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

/// The host and port of `--api`.
fn api_authority(options: &Options) -> anyhow::Result<Authority> {
    let base: Uri = options.api.parse().context("--api")?;
    base.authority()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("--api has no host: {}", options.api))
}

/// What one phase sends, prepared once: only the user's token differs between requests.
///
/// The workers speak HTTP/1.1 on a connection each through hyper's connection API rather than
/// through reqwest. loadgen shares the two cores with the system it measures, so what it spends
/// per request is taken from the figure it reports; reqwest parsed the URL, wrote the JSON body
/// and built the headers anew for every request, and went through its connection pool. pgbench,
/// the ceiling's client, prepares its statements once in the same way.
struct Prepared {
    method: Method,
    /// The path and query.
    target: Uri,
    /// The JSON body, if any.
    body: Option<Bytes>,
    /// The phase's own headers.
    headers: HeaderMap,
}

impl Prepared {
    fn new(method: Method, target: &str, body: Option<&serde_json::Value>) -> anyhow::Result<Self> {
        Ok(Self {
            method,
            target: target.parse()?,
            body: body.map(serde_json::to_vec).transpose()?.map(Bytes::from),
            headers: HeaderMap::new(),
        })
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.insert(name, HeaderValue::from_static(value));
        self
    }

    /// The request as the user of `authorization`, for `connection`.
    fn request(
        &self,
        connection: &Connection,
        authorization: &HeaderValue,
    ) -> Request<Full<Bytes>> {
        let mut request = connection.request(
            self.method.clone(),
            self.target.clone(),
            authorization,
            self.body.clone(),
        );
        request.headers_mut().extend(self.headers.clone());
        request
    }
}

/// `Authorization` for `token`.
pub(crate) fn bearer(token: &str) -> anyhow::Result<HeaderValue> {
    Ok(HeaderValue::from_str(&format!("Bearer {token}"))?)
}

/// One worker's HTTP/1.1 connection to backend-api (kept alive, opened again after an error).
pub(crate) struct Connection {
    address: String,
    host: HeaderValue,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub(crate) fn new(options: &Options) -> anyhow::Result<Self> {
        let authority = api_authority(options)?;
        let port = authority.port_u16().unwrap_or(80);
        Ok(Self {
            address: format!("{}:{port}", authority.host()),
            host: HeaderValue::from_str(authority.as_str())?,
            sender: None,
        })
    }

    /// A request to `target` (path and query) as the user of `authorization`, with a JSON
    /// `body` if any.
    pub(crate) fn request(
        &self,
        method: Method,
        target: Uri,
        authorization: &HeaderValue,
        body: Option<Bytes>,
    ) -> Request<Full<Bytes>> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, self.host.clone());
        headers.insert(header::AUTHORIZATION, authorization.clone());
        if body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let mut request = Request::new(Full::new(body.unwrap_or_default()));
        *request.method_mut() = method;
        *request.uri_mut() = target;
        *request.headers_mut() = headers;
        request
    }

    /// Sends `request` and reads the whole response: its status and body, or `None` when the
    /// request failed (the connection is then dropped and the next request opens another).
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Option<(StatusCode, Bytes)> {
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request)).await;
        match outcome {
            Ok(Ok(answer)) => Some(answer),
            _ => {
                self.sender = None;
                None
            }
        }
    }

    async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => {
                let stream = TcpStream::connect(&self.address).await?;
                stream.set_nodelay(true)?;
                let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(connection);
                self.sender.insert(sender)
            }
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// What a request may take before it counts as an error (and its connection is replaced).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `clients` workers send `prepared` requests back to back until the duration is over, each on
/// a connection of its own; a request counts as ok when its status is a success and `accept`
/// says its body is right.
async fn drive(
    options: &Options,
    clients: usize,
    tokens: Vec<String>,
    prepared: Prepared,
    accept: fn(&[u8]) -> bool,
) -> anyhow::Result<Measured> {
    let authorizations: Vec<HeaderValue> = tokens
        .iter()
        .map(|t| bearer(t))
        .collect::<anyhow::Result<_>>()?;
    let authorizations = Arc::new(authorizations);
    let prepared = Arc::new(prepared);
    let started = Instant::now();
    let deadline = started + options.duration;
    let workers = (0..clients)
        .map(|worker| {
            let (authorizations, prepared) = (authorizations.clone(), prepared.clone());
            let mut connection = Connection::new(options)?;
            Ok(tokio::spawn(async move {
                let mut measured = Measured::new();
                let mut n = worker;
                while Instant::now() < deadline {
                    let authorization = &authorizations[n % authorizations.len()];
                    n += clients;
                    let sent = Instant::now();
                    let outcome = match connection
                        .send(prepared.request(&connection, authorization))
                        .await
                    {
                        Some((status, body)) => status.is_success() && accept(&body),
                        None => false,
                    };
                    if outcome {
                        measured.record(sent.elapsed().as_micros() as u64);
                        measured.ok += 1;
                    } else {
                        measured.errors += 1;
                    }
                }
                measured
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut total = Measured::new();
    for worker in futures::future::join_all(workers).await {
        total.merge(&worker?);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

pub async fn create_tasks(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let body = json!({"title": "a task title", "description": "some description", "priority": "high", "tags": ["work", "home"]});
    let prepared = Prepared::new(Method::POST, "/api/tasks", Some(&body))?;
    let tokens = tokens(options, "load-user", options.users)?;
    drive(options, clients, tokens, prepared, |_| true).await
}

/// The read through REST: the user's first 20 pending tasks, soonest due first.
pub async fn list_rest(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let target = "/api/tasks?status=pending&sort=due_date&limit=20";
    let prepared = Prepared::new(Method::GET, target, None)?;
    let tokens = tokens(options, "read-user", options.users)?;
    drive(options, clients, tokens, prepared, |_| true).await
}

/// The same read through `/mcp`: `tools/call list_tasks` with a token for the MCP audience.
pub async fn list_mcp(options: &Options, clients: usize) -> anyhow::Result<Measured> {
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "list_tasks", "arguments": {"limit": 20}}});
    let prepared = Prepared::new(Method::POST, "/mcp", Some(&call))?
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    let tokens = agent_tokens(options, "read-user", options.users).await?;
    // A JSON-RPC error or a tool error comes with 200: only a result with `"isError":false`
    // counts. Looked for as bytes, not parsed: the load generator shares the cores with the
    // server, and parsing every reply would charge MCP for the client's work.
    let accept = |body: &[u8]| {
        let marker = br#""isError":false"#;
        body.windows(marker.len()).any(|w| w == marker)
    };
    drive(options, clients, tokens, prepared, accept).await
}
