//! `GET /api/tasks`: the query string read into a [`ListQuery`], one page of tasks back.

use axum::Json;
use axum::extract::{RawQuery, State};
use common::auth::AuthUser;
use common::error::ApiError;
use common::tasks::Priority;

use crate::startup::AppState;
use crate::tasks::{ListQuery, TaskPage, list};

/// Lists the caller's tasks.
#[utoipa::path(get, path = "/api/tasks", tag = "tasks", security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "pending, completed or all (the default)"), ("priority" = Option<Priority>, Query),
        ("tag" = Option<Vec<String>>, Query, description = "repeatable; tasks carrying every tag (or any of them with tag_mode=any)"),
        ("tag_mode" = Option<crate::tasks::TagMode>, Query, description = "all (default) or any"),
        ("due" = Option<crate::tasks::DueView>, Query, description = "today, upcoming (today and the next 6 days) or overdue, in `timezone`"),
        ("timezone" = Option<String>, Query, description = "IANA zone the due views are read in (default UTC)"),
        ("q" = Option<String>, Query, description = "case-insensitive search in title and description"),
        ("due_before" = Option<DateTime<Utc>>, Query), ("due_after" = Option<DateTime<Utc>>, Query),
        ("sort" = Option<String>, Query, description = "due_date, priority, created_at (default), updated_at, title; - prefix for descending"),
        ("limit" = Option<i64>, Query, description = "1–200, default 50"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = TaskPage), (status = 400, description = "bad parameter or cursor")))]
pub async fn list_tasks(
    State(state): State<AppState>,
    user: AuthUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<TaskPage>, ApiError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let mut conn = state.pool.acquire().await?;
    Ok(Json(list(&mut conn, &user.user_id, &query).await?))
}
