//! The registry of agent tokens: a row per token the user registered (its id is the token's
//! `jti`), which `/mcp` checks on every request, so a token is refused as soon as it is revoked.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

const COLUMNS: &str = "id, label, created_at, expires_at, last_used_at, revoked_at";

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

/// Adds a row for `user_id` valid for `lifetime` (also used by `fleet token --audience`).
pub async fn register(
    pool: &PgPool,
    user_id: &str,
    label: &str,
    lifetime: Duration,
) -> Result<AgentToken, sqlx::Error> {
    let sql = format!(
        "INSERT INTO agent_tokens (id, user_id, label, expires_at) \
         VALUES ($1, $2, $3, now() + $4) RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, AgentToken>(&sql)
        .bind(Uuid::new_v4())
        .bind(user_id)
        .bind(label)
        .bind(lifetime)
        .fetch_one(pool)
        .await
}

/// The user's unexpired tokens (active and revoked), newest first, at most `limit`.
pub async fn list(
    pool: &PgPool,
    user_id: &str,
    limit: i64,
) -> Result<Vec<AgentToken>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM agent_tokens \
         WHERE user_id = $1 AND expires_at > now() ORDER BY created_at DESC, id LIMIT $2"
    );
    sqlx::query_as::<_, AgentToken>(&sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Revokes the user's token `id` (kept revoked if it was); `false` when the user has no such
/// token.
pub async fn revoke(pool: &PgPool, user_id: &str, id: Uuid) -> Result<bool, sqlx::Error> {
    let found = sqlx::query(
        "UPDATE agent_tokens SET revoked_at = coalesce(revoked_at, now()) \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(found == 1)
}

/// Revokes every active token of the user; returns how many.
pub async fn revoke_all(pool: &PgPool, user_id: &str) -> Result<u64, sqlx::Error> {
    let revoked = sqlx::query(
        "UPDATE agent_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(revoked)
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
