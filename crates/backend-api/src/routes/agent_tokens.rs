//! The registry of MCP agent tokens: `/api/agent-tokens`. The UI registers a token here before
//! it signs it (the row's id becomes the token's `jti`), lists the user's tokens and revokes
//! them; `/mcp` accepts an agent token only while its row is active ([`is_active`]). Agent
//! tokens themselves cannot reach these routes (the REST verifier refuses them), so an agent
//! cannot mint or un-revoke its own access.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// One registered agent token.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AgentToken {
    /// The token's `jti`.
    pub id: Uuid,
    /// The user's name for the agent.
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// Refused after this.
    pub expires_at: DateTime<Utc>,
    /// When an agent last called `/mcp` with it (to the minute), if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
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
    let token = register(&state.pool, &user.user_id, &label, Duration::days(days)).await?;
    Ok((StatusCode::CREATED, Json(token)).into_response())
}

/// Adds a row for `user_id` valid for `lifetime` (also used by `fleet token --audience`).
pub async fn register(
    pool: &PgPool,
    user_id: &str,
    label: &str,
    lifetime: Duration,
) -> Result<AgentToken, sqlx::Error> {
    sqlx::query_as::<_, AgentToken>(
        "INSERT INTO agent_tokens (id, user_id, label, expires_at) \
         VALUES ($1, $2, $3, now() + $4) \
         RETURNING id, label, created_at, expires_at, last_used_at, revoked_at",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(label)
    .bind(lifetime)
    .fetch_one(pool)
    .await
}

/// The caller's unexpired tokens, newest first.
#[utoipa::path(get, path = "/api/agent-tokens", tag = "agent-tokens", security(("bearer" = [])),
    responses((status = 200, body = AgentTokenList), (status = 401, description = "no valid token")))]
pub async fn list_agent_tokens(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<AgentTokenList>, ApiError> {
    let items = sqlx::query_as::<_, AgentToken>(
        "SELECT id, label, created_at, expires_at, last_used_at, revoked_at FROM agent_tokens \
         WHERE user_id = $1 AND expires_at > now() ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(&user.user_id)
    .bind(MAX_LISTED)
    .fetch_all(&state.pool)
    .await?;
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
    let found = sqlx::query(
        "UPDATE agent_tokens SET revoked_at = coalesce(revoked_at, now()) \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(&user.user_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if found == 0 {
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
    let revoked = sqlx::query(
        "UPDATE agent_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(&user.user_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    Ok(Json(Revoked { revoked }))
}

/// Whether the agent token `jti` of `user_id` is registered, unrevoked and unexpired. Marks it
/// used (at most once a minute, so a busy agent does not write on every call).
pub async fn is_active(pool: &PgPool, user_id: &str, jti: &str) -> Result<bool, sqlx::Error> {
    let Ok(id) = Uuid::parse_str(jti) else {
        return Ok(false);
    };
    let row: Option<(bool,)> = sqlx::query_as(
        "SELECT last_used_at IS NULL OR last_used_at < now() - interval '1 minute' \
         FROM agent_tokens \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let Some((stale,)) = row else {
        return Ok(false);
    };
    if stale {
        sqlx::query("UPDATE agent_tokens SET last_used_at = now() WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(true)
}
