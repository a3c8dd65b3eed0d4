//! Saved views: named `GET /api/tasks` query strings a user keeps (`/api/views`). A view's
//! query is validated exactly as the list validates it, so a saved view always lists.

use chrono::{DateTime, Utc};
use common::error::ApiError;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ListQuery;

/// At most this many views per user.
pub const MAX_VIEWS: i64 = 50;
const MAX_NAME: usize = 60;
const MAX_QUERY: usize = 1_000;

/// A saved view.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct SavedView {
    /// Its id.
    pub id: Uuid,
    /// What the sidebar calls it.
    pub name: String,
    /// The `GET /api/tasks` query string it lists, e.g. `status=pending&tag=work&sort=due_date`.
    pub query: String,
    /// When it was saved.
    pub created_at: DateTime<Utc>,
}

/// Body of `POST /api/views`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewView {
    /// 1–60 characters.
    pub name: String,
    /// A `GET /api/tasks` query string without `cursor` and `limit` (at most 1 000 characters).
    pub query: String,
}

/// The user's views, oldest first (the order they were saved in).
pub async fn list(conn: &mut PgConnection, user_id: &str) -> Result<Vec<SavedView>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT id, name, query, created_at FROM saved_views WHERE user_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Saves a view: 422 for a bad name or query or one view too many, 409 for a name in use.
pub async fn save(
    conn: &mut PgConnection,
    user_id: &str,
    new: NewView,
) -> Result<SavedView, ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.contains('\0') {
        return Err(ApiError::invalid_field(
            "name",
            format!("1–{MAX_NAME} characters"),
        ));
    }
    let query = new.query.trim().trim_start_matches('?');
    if query.chars().count() > MAX_QUERY {
        return Err(ApiError::invalid_field(
            "query",
            format!("at most {MAX_QUERY} characters"),
        ));
    }
    let names_page = form_urlencoded::parse(query.as_bytes())
        .any(|(name, _)| name == "cursor" || name == "limit");
    if names_page {
        return Err(ApiError::invalid_field(
            "query",
            "a view keeps filters and sort, not a page: leave out cursor and limit",
        ));
    }
    ListQuery::parse(Some(query))
        .map_err(|error| ApiError::invalid_field("query", error.to_string()))?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM saved_views WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_VIEWS {
        return Err(ApiError::invalid_field(
            "name",
            format!("at most {MAX_VIEWS} saved views: delete one first"),
        ));
    }
    let saved = sqlx::query_as(
        "INSERT INTO saved_views (id, user_id, name, query) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, name) DO NOTHING RETURNING id, name, query, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(name)
    .bind(query)
    .fetch_optional(conn)
    .await?;
    saved.ok_or_else(|| ApiError::Conflict {
        code: "already_exists",
        message: format!("a view named {name:?} exists"),
    })
}

/// Deletes one of the user's views.
pub async fn delete(conn: &mut PgConnection, user_id: &str, id: Uuid) -> Result<(), ApiError> {
    let deleted = sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::NotFound("view"));
    }
    Ok(())
}
