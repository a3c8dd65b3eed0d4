//! `POST /reminder-cron`: the Dapr cron binding's tick (`@every 1m`), the safety net for
//! reminders the exact-time loop missed (restarts, clock jumps, a lost NOTIFY).
//!
//! The sidecar POSTs an empty body with `Content-Type: application/json`, so the handler takes
//! no body extractor. Every replica's sidecar ticks; the claim makes that harmless.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use common::error::ApiError;
use common::events::REMINDER_CRON;
use serde_json::{Value, json};

use crate::reminders::{claim_due_reminders, forget_fired_reminders};
use crate::startup::AppState;

/// The cron route (guard it with `require_app_token`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(&format!("/{REMINDER_CRON}"), post(reminder_cron))
        .with_state(state)
}

/// Claims every due reminder; 200 with how many this tick fired (usually 0). Also forgets
/// firings too old to matter.
async fn reminder_cron(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = (state.clock)();
    let fired = claim_due_reminders(&state.pool, now, &state.claim).await?;
    match forget_fired_reminders(&state.pool, now, &state.claim).await {
        Ok(0) => {}
        Ok(forgotten) => tracing::debug!(forgotten, "forgot old reminder firings"),
        Err(error) => tracing::warn!(%error, "could not forget old reminder firings"),
    }
    if !fired.is_empty() {
        tracing::info!(
            fired = fired.len(),
            "cron tick fired reminders the scheduler had not"
        );
    }
    Ok(Json(json!({ "fired": fired.len() })))
}
