//! `/mcp`: the assistant's task tools for external agents, over MCP's streamable HTTP
//! transport (the `rmcp` crate), stateless with JSON replies so any replica can answer any
//! request.
//!
//! Every request needs a bearer JWT whose audience is this endpoint's public URL (`MCP_URL`);
//! a token minted for anything else (the REST API, another MCP server) or expired is refused
//! with 401 and a `WWW-Authenticate` header pointing at the protected-resource metadata
//! (RFC 9728). The user is the token's `sub` — no tool takes a user id — and changes carry
//! actor `assistant`, like the in-app assistant's. Destructive tools only draw confirmation
//! cards, which the user decides in the app. The `Host` header must be one of
//! `MCP_ALLOWED_HOSTS` (protection against DNS rebinding; configurable for real deployments).

mod auth;
mod settings;
pub mod tokens;
mod tools;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::middleware;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};

use crate::startup::AppState;
use auth::{Gate, authenticate};
use settings::METADATA_PATH;
pub use settings::{McpSettings, PATH};
use tools::{TaskTools, tool_list};

/// `GET /.well-known/oauth-protected-resource/mcp` (RFC 9728).
async fn metadata(State(gate): State<Gate>) -> Json<Value> {
    Json(json!({
        "resource": gate.settings.url,
        "authorization_servers": gate.settings.authorization_servers,
        "bearer_methods_supported": ["header"],
        "resource_name": "taskfleet tasks",
    }))
}

/// The `/mcp` endpoint and its metadata, or nothing when disabled. Cards its tools draw stay
/// decidable for the state's `confirmation_ttl` (the assistant's
/// `ASSISTANT_CONFIRMATION_TTL_SECS`).
pub fn router(state: &AppState) -> Router<AppState> {
    let settings = state.mcp.clone();
    if !settings.enabled {
        return Router::new();
    }
    let gate = Gate {
        verifier: state.verifier.clone(),
        settings: settings.clone(),
        limit: state.limits.mcp.clone(),
        pool: state.pool.clone(),
    };
    let handler = TaskTools {
        pool: state.pool.clone(),
        clock: state.clock.clone(),
        confirmation_ttl: state.confirmation_ttl,
        tools: Arc::new(tool_list()),
    };
    // rmcp reads the body itself, past axum's limit layer: the same 1 MiB bound (413) here.
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(common::server::MAX_BODY_BYTES);
    config = if settings.allowed_hosts.iter().any(|h| h == "*") {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(settings.allowed_hosts.clone())
    };
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(PATH, service)
        .layer(middleware::from_fn_with_state(gate.clone(), authenticate))
        .merge(
            Router::new()
                .route(METADATA_PATH, get(metadata))
                .with_state(gate),
        )
}
