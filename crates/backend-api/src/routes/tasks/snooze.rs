//! `POST /api/tasks/{id}/snooze`: the reminder again in 10 minutes, in an hour, or tomorrow
//! morning in the task's time zone. The server computes the instant (its clock, the task's
//! zone), so every client (the toast, the notification list, a push notification's action)
//! snoozes to the same time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use common::error::ApiError;
use common::extract::{ApiJson, ApiPath};
use common::limits::Limited;
use common::tasks::Task;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::http::task_response;
use crate::limits::Writes;
use crate::quickadd::{default_time, localize, next_day};
use crate::startup::AppState;
use crate::tasks::{Caller, WriteContext, service};

/// Body of `POST /api/tasks/{id}/snooze`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// How long: `10m`, `1h`, or `tomorrow` (09:00 tomorrow in the task's time zone).
    #[serde(rename = "for")]
    pub snooze_for: SnoozeFor,
}

/// The snooze choices a reminder offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum SnoozeFor {
    /// Ten minutes from now.
    #[serde(rename = "10m")]
    TenMinutes,
    /// An hour from now.
    #[serde(rename = "1h")]
    OneHour,
    /// 09:00 tomorrow on the task's wall clock.
    #[serde(rename = "tomorrow")]
    TomorrowMorning,
}

impl SnoozeFor {
    /// When the reminder fires again, snoozed at `now`.
    pub fn until(self, task: &Task, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::TenMinutes => now + Duration::minutes(10),
            Self::OneHour => now + Duration::hours(1),
            Self::TomorrowMorning => {
                let tz: Tz = task.timezone.parse().unwrap_or(Tz::UTC);
                let tomorrow = next_day(now.with_timezone(&tz).date_naive());
                localize(tz, tomorrow.and_time(default_time()))
            }
        }
    }
}

/// Moves the task's reminder (firing it again then) and publishes `task-updated`.
#[utoipa::path(post, path = "/api/tasks/{id}/snooze", tag = "tasks", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = SnoozeRequest,
    responses((status = 200, body = Task, description = "the task with its new `reminder_at`"),
              (status = 404, description = "no such task"),
              (status = 409, description = "the task is completed"),
              (status = 422, description = "unknown snooze choice")))]
pub async fn snooze_task(
    State(state): State<AppState>,
    Limited(user, _): Limited<Writes>,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<SnoozeRequest>,
) -> Result<Response, ApiError> {
    let caller = Caller::user(user.user_id, context);
    let now = (state.clock)();
    let mut tx = state.pool.begin().await?;
    let task = service::snooze(&mut tx, &caller, id, |task| {
        request.snooze_for.until(task, now)
    })
    .await?;
    common::outbox::commit(tx).await?;
    Ok(task_response(StatusCode::OK, &task))
}
