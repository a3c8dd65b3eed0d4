//! `GET /api/notifications`: newest first, optionally unread only, keyset-paginated.
//!
//! The cursor is opaque to clients: base64url JSON of the last row's `(created_at, id)`. The
//! next page is `(created_at, id) < cursor`, so pages neither skip nor repeat rows when new
//! notifications arrive meanwhile. A cursor this API did not issue is a 400.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::ApiQuery;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::{COLUMNS, Notification};
use crate::startup::AppState;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// One page of notifications.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationPage {
    /// This page, newest first.
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Query parameters; anything else is a 400.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `true`: unread notifications only.
    pub unread: Option<bool>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    t: DateTime<Utc>,
    id: Uuid,
}

fn decode_cursor(raw: &str) -> Result<Cursor, ApiError> {
    common::cursor::decode(raw)
}

fn encode_cursor(cursor: &Cursor) -> String {
    common::cursor::encode(cursor)
}

/// Lists the caller's notifications, newest first.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = NotificationPage)))]
pub async fn list_notifications(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<NotificationPage>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit: an integer from 1 to {MAX_LIMIT}"),
        ));
    }
    let cursor = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {COLUMNS} FROM notifications WHERE user_id = "
    ));
    sql.push_bind(&user.user_id);
    if params.unread == Some(true) {
        sql.push(" AND read_at IS NULL");
    }
    if let Some(cursor) = &cursor {
        sql.push(" AND (created_at, id) < (")
            .push_bind(cursor.t)
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
    }
    // Written in, not bound: a bound LIMIT makes Postgres plan the statement again on every
    // execution (backend-api's tasks::query::list says why). `limit` is validated above.
    sql.push(format_args!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        limit + 1
    ));
    let mut items: Vec<Notification> = sql.build_query_as().fetch_all(&state.pool).await?;
    let next_cursor = common::cursor::next_page(&mut items, limit, |last| {
        encode_cursor(&Cursor {
            t: last.created_at,
            id: last.id,
        })
    });
    Ok(Json(NotificationPage { items, next_cursor }))
}
