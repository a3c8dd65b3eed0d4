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

/// Body of `PATCH /api/views/{id}`: what changes (at least one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewChange {
    /// A new name, 1–60 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// A new query (the list as it is shown now), as for `POST /api/views`.
    #[serde(default)]
    pub query: Option<String>,
}

fn valid_name(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(ApiError::invalid_field(
            "name",
            format!("1–{MAX_NAME} characters"),
        ));
    }
    if name.contains('\0') {
        return Err(ApiError::invalid_field(
            "name",
            "must not contain NUL characters",
        ));
    }
    Ok(name)
}

fn valid_query(raw: &str) -> Result<&str, ApiError> {
    let query = raw.trim().trim_start_matches('?');
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
    Ok(query)
}

fn name_in_use(name: &str) -> ApiError {
    ApiError::Conflict {
        code: "already_exists",
        message: format!("a view named {name:?} exists"),
    }
}

/// Saves a view: 422 for a bad name or query or one view too many, 409 for a name in use.
pub async fn save(
    conn: &mut PgConnection,
    user_id: &str,
    new: NewView,
) -> Result<SavedView, ApiError> {
    let name = valid_name(&new.name)?;
    let query = valid_query(&new.query)?;
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
    saved.ok_or_else(|| name_in_use(name))
}

/// Renames a view or changes its query: 404 for none of the user's, 409 for a name in use.
pub async fn change(
    conn: &mut PgConnection,
    user_id: &str,
    id: Uuid,
    change: ViewChange,
) -> Result<SavedView, ApiError> {
    if change.name.is_none() && change.query.is_none() {
        return Err(ApiError::invalid_field("name", "give a new name or query"));
    }
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let query = change.query.as_deref().map(valid_query).transpose()?;
    let changed = sqlx::query_as(
        "UPDATE saved_views SET name = coalesce($3, name), query = coalesce($4, query) \
         WHERE id = $1 AND user_id = $2 RETURNING id, name, query, created_at",
    )
    .bind(id)
    .bind(user_id)
    .bind(name)
    .bind(query)
    .fetch_optional(conn)
    .await;
    match changed {
        Ok(Some(view)) => Ok(view),
        Ok(None) => Err(ApiError::NotFound("view")),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(name_in_use(name.unwrap_or_default()))
        }
        Err(e) => Err(e.into()),
    }
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
