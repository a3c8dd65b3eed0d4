//! A user message and its answer, streamed as server-sent events while the model works.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use common::auth::AuthUser;
use common::error::{ApiError, Refusal};
use common::extract::{ApiJson, ApiPath};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::enabled;
use super::threads::own_thread;
use crate::assistant::conversation::{self, StreamEvent, TurnContext};
use crate::assistant::store;
use crate::startup::AppState;
use crate::tasks::{Caller, WriteContext, user_zone};

const MAX_MESSAGE: usize = 4_000;

/// 429 `rate_limited`: the per-user message limit is reached.
fn rate_limited(per_minute: u32) -> ApiError {
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("at most {per_minute} assistant messages per minute"),
    )
    .details(json!({"limit_per_minute": per_minute, "retry_after_seconds": 60}))
    .retry_after(60)
    .into()
}

/// 429 `token_budget_exhausted`: the user's tokens for today are spent; `retry_after` is the
/// seconds until the budget renews (next UTC midnight).
fn token_budget_exhausted(limit: u64, retry_after: u64) -> ApiError {
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        "token_budget_exhausted",
        format!("today's assistant budget of {limit} tokens is used up"),
    )
    .details(json!({"limit_per_day": limit, "retry_after_seconds": retry_after}))
    .retry_after(retry_after)
    .into()
}

/// Body of `POST /api/assistant/threads/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// 1–4000 characters.
    pub text: String,
    /// Overrides the thread's zone for this message (a user who travelled).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Stores the message and streams the answer as server-sent events until the turn ends:
/// `item.added`, `item.delta`, `item.done`, `tool_call.started`, `tool_call.finished`, `error`,
/// `done`.
#[utoipa::path(post, path = "/api/assistant/threads/{id}/messages", tag = "assistant", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewMessage,
    responses((status = 200, description = "text/event-stream"), (status = 404, description = "no such thread"),
              (status = 429, description = "rate_limited"), (status = 503, description = "assistant_disabled")))]
pub async fn post_message(
    State(state): State<AppState>,
    user: AuthUser,
    context: WriteContext,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<NewMessage>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let assistant = enabled(&state)?;
    let thread = own_thread(&state, &user.user_id, id).await?;
    let text = request.text.trim().to_owned();
    let length = text.chars().count();
    if length == 0 || length > MAX_MESSAGE {
        return Err(ApiError::invalid_field(
            "text",
            format!("1–{MAX_MESSAGE} characters"),
        ));
    }
    if text.contains('\0') {
        return Err(ApiError::invalid_field(
            "text",
            "must not contain NUL characters",
        ));
    }
    let timezone = match request.timezone.as_deref() {
        Some(zone) => user_zone(Some(zone))?.1,
        None => thread.timezone.clone(),
    };
    let per_minute = assistant.settings.rate_limit_per_minute;
    let mut tx = state.pool.begin().await?;
    let limit = assistant.settings.daily_token_limit;
    let used = store::tokens_today(&mut tx, &user.user_id).await?;
    if u64::try_from(used).unwrap_or(0) >= limit {
        let renews_in = seconds_to_utc_midnight((state.clock)());
        return Err(token_budget_exhausted(
            limit,
            u64::try_from(renews_in).unwrap_or(0),
        ));
    }
    let item = store::add_user_message_within_limit(&mut tx, &user.user_id, id, &text, per_minute)
        .await?
        .ok_or_else(|| rate_limited(per_minute))?;
    store::touch_thread(&mut tx, &user.user_id, id, &text).await?;
    tx.commit().await?;

    let (events, receiver) = tokio::sync::mpsc::unbounded_channel::<StreamEvent>();
    let _ = events.send(StreamEvent {
        name: "item.added",
        data: json!(item),
    });
    let turn = TurnContext {
        assistant,
        pool: state.pool.clone(),
        caller: Caller::assistant(user.user_id, context),
        thread,
        timezone,
        now: (state.clock)(),
    };
    tokio::spawn(conversation::run(turn, events));
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        let sse = Event::default()
            .event(event.name)
            .data(event.data.to_string());
        Some((Ok(sse), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Seconds from `now` to the next UTC midnight, when token budgets renew.
fn seconds_to_utc_midnight(now: chrono::DateTime<chrono::Utc>) -> i64 {
    let tomorrow = now.date_naive() + chrono::Days::new(1);
    let midnight = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    (midnight - now).num_seconds().max(1)
}
