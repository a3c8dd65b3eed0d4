//! Saved views: `GET` and `POST /api/views`, `DELETE /api/views/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use common::limits::Limited;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::limits::Writes;
use crate::startup::AppState;
use crate::tasks::views::{self, NewView, SavedView, ViewChange};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/views", get(list_views).post(save_view))
        .route("/api/views/{id}", delete(delete_view).patch(change_view))
}

/// The caller's saved views.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewList {
    /// Oldest first.
    pub items: Vec<SavedView>,
}

/// The caller's saved views, in the order they were saved.
#[utoipa::path(get, path = "/api/views", tag = "views", security(("bearer" = [])),
    responses((status = 200, body = ViewList), (status = 401, description = "no valid token")))]
pub async fn list_views(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ViewList>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(ViewList {
        items: views::list(&mut conn, &user.user_id).await?,
    }))
}

/// Saves a named task-list query (filters and sort).
#[utoipa::path(post, path = "/api/views", tag = "views", security(("bearer" = [])),
    request_body = NewView,
    responses((status = 201, body = SavedView),
              (status = 409, description = "a view of that name exists"),
              (status = 410, description = "the account was deleted (a token issued before)"),
              (status = 422, description = "bad name or query, or 50 views already")))]
pub async fn save_view(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    ApiJson(new): ApiJson<NewView>,
) -> Result<Response, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let saved = views::save(&mut conn, &user.user_id, new).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// Renames one of the caller's views, or makes it list something else.
#[utoipa::path(patch, path = "/api/views/{id}", tag = "views", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ViewChange,
    responses((status = 200, body = SavedView), (status = 404, description = "no such view"),
              (status = 409, description = "a view of that name exists"),
              (status = 422, description = "bad name or query")))]
pub async fn change_view(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<ViewChange>,
) -> Result<Json<SavedView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(
        views::change(&mut conn, &user.user_id, id, change).await?,
    ))
}

/// Deletes one of the caller's views.
#[utoipa::path(delete, path = "/api/views/{id}", tag = "views", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such view")))]
pub async fn delete_view(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = state.pool.acquire().await?;
    views::delete(&mut conn, &user.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
