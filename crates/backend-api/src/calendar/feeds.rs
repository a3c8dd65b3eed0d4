//! The registry of calendar feeds: a row per secret URL a user turned on (its id is the URL
//! token's `jti`), which `/calendar.ics` checks on every request, so a rotated or turned-off
//! URL stops working at once.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

/// The user's active calendar feed.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct CalendarFeed {
    /// The feed token's `jti`.
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// When a calendar app last fetched the feed (to the minute), if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The user's active feed, if one is on.
pub async fn active(pool: &PgPool, user_id: &str) -> Result<Option<CalendarFeed>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, created_at, last_used_at FROM calendar_feeds \
         WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// Turns a new feed on for the user, revoking the one that was on (a new secret URL). Two
/// rotations at once are serialised per user, so exactly one feed stays active.
pub async fn rotate(pool: &PgPool, user_id: &str) -> Result<CalendarFeed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('calendar_feeds:' || $1, 0))")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let feed = sqlx::query_as(
        "INSERT INTO calendar_feeds (id, user_id) VALUES ($1, $2) \
         RETURNING id, created_at, last_used_at",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(feed)
}

/// Turns the user's feed off; `false` when none was on.
pub async fn revoke(pool: &PgPool, user_id: &str) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query(
        "UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(revoked > 0)
}

/// Whether `jti` is the active feed of `user_id`. Marks it used (at most once a minute).
pub async fn is_active(pool: &PgPool, user_id: &str, jti: &str) -> Result<bool, sqlx::Error> {
    let Ok(id) = Uuid::parse_str(jti) else {
        return Ok(false);
    };
    let used = sqlx::query(
        "UPDATE calendar_feeds SET last_used_at = now() \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL \
           AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind(id)
    .bind(user_id)
    .execute(pool)
    .await?
    .rows_affected();
    if used == 1 {
        return Ok(true);
    }
    let (active,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM calendar_feeds \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL)",
    )
    .bind(id)
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    Ok(active)
}
