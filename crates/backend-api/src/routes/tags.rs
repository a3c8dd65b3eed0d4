//! `GET /api/tags`: the caller's tags with how many tasks carry each.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use common::auth::AuthUser;
use common::error::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/tags", get(list_tags))
}

/// A tag and its number of tasks.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TagCount {
    /// The normalised tag.
    pub tag: String,
    /// How many of the caller's tasks carry it.
    pub count: i64,
}

/// The caller's tags, most used first.
#[utoipa::path(get, path = "/api/tags", tag = "tags", security(("bearer" = [])),
    responses((status = 200, body = [TagCount]), (status = 401, description = "no valid token")))]
pub async fn list_tags(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<TagCount>>, ApiError> {
    let tags = sqlx::query_as::<_, TagCount>(
        "SELECT tag, count(*) AS count FROM tasks, unnest(tags) AS tag WHERE user_id = $1 \
         GROUP BY tag ORDER BY count DESC, tag",
    )
    .bind(&user.user_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(tags))
}
