//! The calendar feed: a per-user secret iCalendar URL that calendar apps subscribe to.
//!
//! The secret is a JWT (`token_use` "calendar", `aud` = [`CalendarSettings::url`], `jti` = a
//! row of [`feeds`]) carried in the URL's `token` parameter, because a calendar app cannot send
//! an `Authorization` header. So the feed stays a user route: the user is the token's `sub`,
//! the signature is checked like any other, and the row makes it revocable. The UI registers
//! the row (`POST /api/calendar-feed`) and signs the token; the token opens nothing but the
//! feed (the APIs refuse any token with a `token_use`), and rotating the URL revokes the row,
//! so every copy of the old URL stops working at once.

pub mod feeds;
mod ics;
pub mod render;
mod vtimezone;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use common::auth::{AuthError, AuthUser, CALENDAR_TOKEN_USE};
use common::config::{ConfigError, env_or};
use common::error::ApiError;
use common::extract::ApiQuery;
use common::limits::Limited;
use common::tasks::{TASK_COLUMNS, Task};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

pub use feeds::CalendarFeed;
use render::FeedKind;

use crate::limits::Writes;
use crate::startup::AppState;

/// Where the feed is served (a proxy may publish it elsewhere: `CALENDAR_URL` says where).
pub const PATH: &str = "/calendar.ics";
/// Tasks written into one feed at most (the nearest due first).
const MAX_TASKS: i64 = 2000;

/// Where calendar apps reach the feed.
#[derive(Debug, Clone)]
pub struct CalendarSettings {
    /// `CALENDAR_URL`: the feed's public URL, without its query; the audience its tokens carry
    /// (default `http://localhost:<PORT>/calendar.ics`).
    pub url: String,
}

impl CalendarSettings {
    /// The feed at `url`, which must be an absolute http(s) URL.
    pub fn for_url(url: &str) -> Result<Self, ConfigError> {
        let valid = reqwest::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.query().is_none()
        });
        if !valid {
            return Err(ConfigError {
                name: "CALENDAR_URL".to_owned(),
                problem: "must be an absolute http(s) URL without a query".to_owned(),
            });
        }
        Ok(Self {
            url: url.to_owned(),
        })
    }

    /// Reads `CALENDAR_URL`; `port` is the service's port, for the default.
    pub fn from_env(port: u16) -> Result<Self, ConfigError> {
        Self::for_url(&env_or(
            "CALENDAR_URL",
            format!("http://localhost:{port}{PATH}"),
        )?)
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(feed)).route(
        "/api/calendar-feed",
        get(get_feed).post(rotate_feed).delete(turn_off_feed),
    )
}

/// What `GET /calendar.ics` takes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The feed token (a JWT with `token_use` "calendar"), as the app put it into the URL.
    pub token: Option<String>,
    /// `events` (default: a VEVENT per open task with a due time) or `todos` (a VTODO per open
    /// or recently completed task).
    pub kind: Option<String>,
}

fn refused() -> ApiError {
    ApiError::Unauthorized(AuthError::Invalid(
        "no valid, active calendar feed token".into(),
    ))
}

/// The caller's tasks as iCalendar; answers `304` when `If-None-Match` names the current text.
#[utoipa::path(get, path = "/calendar.ics", tag = "calendar", params(FeedQuery),
    responses((status = 200, description = "the feed", content_type = "text/calendar", body = String),
              (status = 304, description = "unchanged since the ETag in If-None-Match"),
              (status = 401, description = "no token, or one that is invalid, rotated or turned off"),
              (status = 422, description = "an unknown kind")))]
pub async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let token = query.token.as_deref().ok_or_else(refused)?;
    let claims = state
        .verifier
        .verify_for_use(token, &state.calendar.url, CALENDAR_TOKEN_USE)
        .await
        .map_err(|error| {
            tracing::info!(%error, "calendar feed token refused");
            refused()
        })?;
    let user = claims.sub;
    let active = match claims.jti.as_deref() {
        Some(jti) => feeds::is_active(&state.pool, &user, jti).await?,
        None => false,
    };
    if !active {
        tracing::info!(%user, "calendar feed token rotated, turned off or never registered");
        return Err(refused());
    }
    state.limits.calendar.check(&user)?;
    let kind = match query.kind.as_deref() {
        None | Some("events") => FeedKind::Events,
        Some("todos") => FeedKind::Todos,
        Some(_) => return Err(ApiError::invalid_field("kind", "events or todos")),
    };
    let tasks = select(&state, &user, kind).await?;
    let body = render::calendar(&tasks, kind, (state.clock)());
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    // Apps revalidate with the ETag; nothing in between keeps a copy of someone's tasks.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// The tasks of the feed: open tasks with a due time (the nearest first), or open and
/// recently completed ones; written in due order.
async fn select(state: &AppState, user: &str, kind: FeedKind) -> Result<Vec<Task>, ApiError> {
    let filter = match kind {
        FeedKind::Events => {
            "status = 'pending' AND due_date IS NOT NULL \
             ORDER BY abs(extract(epoch FROM due_date - now())), id"
        }
        FeedKind::Todos => {
            "(status = 'pending' OR completed_at > now() - interval '30 days') \
             ORDER BY status DESC, updated_at DESC, id"
        }
    };
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND {filter} LIMIT $2");
    let mut tasks: Vec<Task> = sqlx::query_as(&sql)
        .bind(user)
        .bind(MAX_TASKS)
        .fetch_all(&state.pool)
        .await?;
    tasks.sort_by(|a, b| {
        (a.due_date.is_none(), a.due_date, a.id).cmp(&(b.due_date.is_none(), b.due_date, b.id))
    });
    Ok(tasks)
}

/// The caller's active calendar feed (its token's `jti`); 404 when the feed is off.
#[utoipa::path(get, path = "/api/calendar-feed", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = CalendarFeed), (status = 404, description = "the feed is off")))]
pub async fn get_feed(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<CalendarFeed>, ApiError> {
    feeds::active(&state.pool, &user.user_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("calendar feed"))
}

/// Turns the feed on with a new secret: the previous feed, if any, is revoked (its URLs stop
/// working). The caller signs the feed token with the returned id as `jti`.
#[utoipa::path(post, path = "/api/calendar-feed", tag = "calendar", security(("bearer" = [])),
    responses((status = 201, body = CalendarFeed),
              (status = 410, description = "the account was deleted (a token issued before)")))]
pub async fn rotate_feed(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
) -> Result<Response, ApiError> {
    let feed = feeds::rotate(&state.pool, &user.user_id).await?;
    Ok((StatusCode::CREATED, Json(feed)).into_response())
}

/// Turns the feed off (204, also when it was off): every URL of it stops working.
#[utoipa::path(delete, path = "/api/calendar-feed", tag = "calendar", security(("bearer" = [])),
    responses((status = 204, description = "the feed is off")))]
pub async fn turn_off_feed(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, ApiError> {
    feeds::revoke(&state.pool, &user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
