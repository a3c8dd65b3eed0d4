//! The user's data in and out: `GET /api/tasks/export` (JSON or CSV) and
//! `POST /api/tasks/import` (a Todoist CSV export).

pub mod export;
pub mod todoist;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::auth::AuthUser;
use common::error::ApiError;
use common::extract::ApiQuery;
use common::limits::Limited;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::limits::Writes;
use crate::startup::AppState;
use crate::tasks::{Caller, WriteContext, service, user_zone};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tasks/export", get(export_tasks))
        .route("/api/tasks/import", post(import_tasks))
}

/// What `GET /api/tasks/export` takes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Every task of the caller (open and completed), oldest first, as a file to download:
/// `{"exported_at", "tasks": [...]}` or CSV with a header row.
#[utoipa::path(get, path = "/api/tasks/export", tag = "tasks", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "the file (Content-Disposition: attachment)",
               content(("application/json"), ("text/csv"))),
              (status = 422, description = "an unknown format")))]
pub async fn export_tasks(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid_field("format", "json or csv")),
    };
    let tasks = export::all_tasks(&state.pool, &user.user_id).await?;
    let now = (state.clock)();
    let day = now.format("%Y-%m-%d");
    let (body, content_type, file) = if csv {
        let body = export::csv(&tasks).map_err(|e| ApiError::Internal(e.into()))?;
        (
            body,
            "text/csv; charset=utf-8",
            format!("taskfleet-tasks-{day}.csv"),
        )
    } else {
        let body = export::json(&tasks, now).map_err(|e| ApiError::Internal(e.into()))?;
        (
            body,
            "application/json",
            format!("taskfleet-tasks-{day}.json"),
        )
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// What `POST /api/tasks/import` takes besides the file.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The file's format: `todoist` (a Todoist CSV export), the only one read.
    pub format: String,
    /// The zone dates without one of their own are read in (IANA; default UTC).
    pub timezone: Option<String>,
}

/// Something about one row of the file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportNote {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// How many tasks were created.
    pub imported: usize,
    /// Their ids, in file order.
    pub ids: Vec<Uuid>,
    /// Rows left out or changed (a date not understood, a name cut), by line.
    pub notes: Vec<ImportNote>,
}

/// Creates the tasks of a Todoist CSV export (the body, `text/csv`, at most 1 MiB and 2,000
/// tasks) in one transaction: every task or none, each with its `task-created` event.
#[utoipa::path(post, path = "/api/tasks/import", tag = "tasks", security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "a Todoist CSV export"),
    responses((status = 201, body = ImportResult, description = "imported"),
              (status = 200, body = ImportResult, description = "nothing to import"),
              (status = 400, description = "not UTF-8 text"),
              (status = 410, description = "the account was deleted (a token issued before)"),
              (status = 415, description = "not text/csv"),
              (status = 422, description = "not a Todoist CSV export, too many tasks, or an unknown format or zone")))]
pub async fn import_tasks(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    context: WriteContext,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(media_type.as_deref(), Some("text/csv" | "text/plain")) {
        return Err(ApiError::UnsupportedMediaType);
    }
    if query.format != "todoist" {
        return Err(ApiError::invalid_field("format", "todoist"));
    }
    let (tz, tz_name) = user_zone(query.timezone.as_deref())?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("invalid_body", "the file is not UTF-8 text"))?;
    let read = todoist::read(text, (tz, &tz_name), (state.clock)())
        .map_err(|problem| ApiError::invalid_field("file", problem))?;
    let mut notes: Vec<ImportNote> = read
        .notes
        .into_iter()
        .map(|n| ImportNote {
            line: n.line,
            message: n.message,
        })
        .collect();
    let caller = Caller::user(user.user_id, context);
    let mut ids = Vec::with_capacity(read.tasks.len());
    let mut tx = state.pool.begin().await?;
    for row in read.tasks {
        // A row the API would refuse is reported and left out; the rest go in.
        if let Err(ApiError::Validation(problems)) = row.task.clone().into_new_task(&caller.user_id)
        {
            notes.push(ImportNote {
                line: row.line,
                message: format!("left out: {problems}"),
            });
            continue;
        }
        let created = service::create(&mut tx, &caller, row.task, None).await?;
        ids.push(created.task.id);
    }
    common::outbox::commit(tx).await?;
    notes.sort_by_key(|n| n.line);
    let status = if ids.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ImportResult {
            imported: ids.len(),
            ids,
            notes,
        }),
    )
        .into_response())
}
