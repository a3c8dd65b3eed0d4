//! The registry of MCP agent tokens: `/api/agent-tokens`. The UI registers a token here before
//! it signs it (the row's id becomes the token's `jti`), lists the user's tokens and revokes
//! them; `/mcp` accepts an agent token only while its row is active (`crate::mcp::tokens`). Agent
//! tokens themselves cannot reach these routes (the REST verifier refuses them), so an agent
//! cannot mint or un-revoke its own access.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::Duration;
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::mcp::tokens;
pub use crate::mcp::tokens::AgentToken;
use crate::startup::AppState;

/// The label of a token registered without one.
const DEFAULT_LABEL: &str = "Agent";
const MAX_LABEL: usize = 100;
/// Days a token lives unless the request says otherwise.
const DEFAULT_DAYS: i64 = 7;
const MAX_DAYS: i64 = 90;
/// Tokens listed at most (a user who keeps more than this revokes in bulk).
const MAX_LISTED: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/agent-tokens",
            get(list_agent_tokens)
                .post(register_agent_token)
                .delete(revoke_all_agent_tokens),
        )
        .route("/api/agent-tokens/{id}", delete(revoke_agent_token))
}

/// What `POST /api/agent-tokens` takes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentToken {
    /// 1–100 characters; default "Agent".
    #[serde(default)]
    pub label: Option<String>,
    /// 1–90; default 7.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// The caller's agent tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentTokenList {
    /// Unexpired tokens, active and revoked, newest first.
    pub items: Vec<AgentToken>,
}

/// How many tokens a bulk revocation ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

/// Registers a token for the caller; the caller signs it with the returned id as `jti`.
#[utoipa::path(post, path = "/api/agent-tokens", tag = "agent-tokens", security(("bearer" = [])),
    request_body = NewAgentToken,
    responses((status = 201, body = AgentToken), (status = 401, description = "no valid token"),
              (status = 410, description = "the account was deleted (a token issued before)"),
              (status = 422, description = "invalid label or lifetime")))]
pub async fn register_agent_token(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<NewAgentToken>,
) -> Result<Response, ApiError> {
    let label = request
        .label
        .as_deref()
        .map(str::trim)
        .unwrap_or(DEFAULT_LABEL)
        .to_owned();
    if label.is_empty() || label.chars().count() > MAX_LABEL {
        return Err(ApiError::invalid_field(
            "label",
            format!("1–{MAX_LABEL} characters"),
        ));
    }
    let days = request.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid_field(
            "expires_in_days",
            format!("1–{MAX_DAYS}"),
        ));
    }
    let token = tokens::register(&state.pool, &user.user_id, &label, Duration::days(days)).await?;
    Ok((StatusCode::CREATED, Json(token)).into_response())
}

/// The caller's unexpired tokens, newest first.
#[utoipa::path(get, path = "/api/agent-tokens", tag = "agent-tokens", security(("bearer" = [])),
    responses((status = 200, body = AgentTokenList), (status = 401, description = "no valid token")))]
pub async fn list_agent_tokens(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<AgentTokenList>, ApiError> {
    let items = tokens::list(&state.pool, &user.user_id, MAX_LISTED).await?;
    Ok(Json(AgentTokenList { items }))
}

/// Revokes one of the caller's tokens (204); someone else's answers 404 like a missing one.
#[utoipa::path(delete, path = "/api/agent-tokens/{id}", tag = "agent-tokens", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "revoked (also if it already was)"),
              (status = 404, description = "no such token")))]
pub async fn revoke_agent_token(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let found = tokens::revoke(&state.pool, &user.user_id, id).await?;
    if !found {
        return Err(ApiError::NotFound("agent token"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token of the caller (the UI calls it when signing out of every device).
#[utoipa::path(delete, path = "/api/agent-tokens", tag = "agent-tokens", security(("bearer" = [])),
    responses((status = 200, body = Revoked), (status = 401, description = "no valid token")))]
pub async fn revoke_all_agent_tokens(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Revoked>, ApiError> {
    let revoked = tokens::revoke_all(&state.pool, &user.user_id).await?;
    Ok(Json(Revoked { revoked }))
}
