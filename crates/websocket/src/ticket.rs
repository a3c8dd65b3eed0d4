//! Short-lived, single-use connection tickets. A browser cannot set headers on a WebSocket or
//! EventSource request, and a long-lived JWT in a URL ends up in logs; a ticket obtained with
//! the JWT over a normal request and spent on connect keeps the credential in the URL worthless
//! after a minute or after one use. Tickets live in the Dapr state store (Redis), shared by
//! every replica.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use common::auth::AuthUser;
use common::dapr::{DaprError, StateItem};
use common::error::ApiError;
use common::events::STATESTORE;
use serde::{Deserialize, Serialize};

use crate::startup::AppState;

#[derive(Serialize, Deserialize)]
struct TicketValue {
    user_id: String,
}

/// The answer of `POST /api/realtime/ticket`.
#[derive(Serialize)]
pub struct TicketResponse {
    /// Pass as `?token=` to `/ws` or `/api/sse`.
    pub ticket: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

fn key(ticket: &str) -> String {
    format!("ws-ticket-{ticket}")
}

/// Issues a ticket for the caller.
pub async fn issue(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<TicketResponse>, ApiError> {
    let ticket = hex::encode(rand::random::<[u8; 32]>());
    let ttl = state.settings.ticket_ttl;
    let item = StateItem {
        key: key(&ticket),
        value: serde_json::to_value(TicketValue {
            user_id: user.user_id,
        })
        .map_err(|e| ApiError::Internal(e.into()))?,
        etag: None,
        first_write: true,
        ttl: Some(ttl),
    };
    state
        .dapr
        .save_state(STATESTORE, &item)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(Json(TicketResponse {
        ticket,
        expires_in: ttl.as_secs(),
    }))
}

/// Spends a ticket: the user it was issued to, or `None` if it is unknown, expired or already
/// spent (the ETag-guarded delete makes two concurrent spends of one ticket yield one user).
pub async fn redeem(state: &AppState, ticket: &str) -> Result<Option<String>, DaprError> {
    if ticket.len() != 64 || !ticket.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(entry) = state
        .dapr
        .get_state::<TicketValue>(STATESTORE, &key(ticket))
        .await?
    else {
        return Ok(None);
    };
    match state
        .dapr
        .delete_state(STATESTORE, &key(ticket), entry.etag.as_deref())
        .await
    {
        Ok(()) => Ok(Some(entry.value.user_id)),
        Err(DaprError::EtagMismatch) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The default ticket lifetime.
pub const DEFAULT_TICKET_TTL: Duration = Duration::from_secs(60);
