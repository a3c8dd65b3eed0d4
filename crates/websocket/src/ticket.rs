//! Short-lived, single-use connection tickets. A browser cannot set headers on a WebSocket or
//! EventSource request, and a long-lived JWT in a URL ends up in logs; a ticket obtained with
//! the JWT over a normal request and spent on connect keeps the credential in the URL worthless
//! after a minute or after one use. Tickets live in the Dapr state store (Redis), shared by
//! every replica.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use common::dapr::{DaprError, StateItem};
use common::error::ApiError;
use common::events::STATESTORE;
use common::limits::Limited;
use common::openapi::StandardResponses;
use serde::{Deserialize, Serialize};

use crate::startup::{AppState, Tickets};

#[derive(Serialize, Deserialize)]
struct TicketValue {
    user_id: String,
}

/// The answer of `POST /api/realtime/ticket`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketResponse {
    /// Pass as `?token=` to `/ws` or `/api/sse`.
    pub ticket: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

fn key(ticket: &str) -> String {
    format!("ws-ticket-{ticket}")
}

/// Issues a ticket for the caller: pass it as `?token=` to `/ws` or `/api/sse` within a minute.
#[utoipa::path(post, path = "/api/realtime/ticket", tag = "realtime", security(("bearer" = [])),
    responses((status = 200, body = TicketResponse)))]
pub async fn issue(
    State(state): State<AppState>,
    Limited(user, _): Limited<Tickets>,
) -> Result<Json<TicketResponse>, ApiError> {
    let ticket = hex::encode(rand::random::<[u8; 32]>());
    let ttl = state.realtime.ticket_ttl;
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
        .ops
        .dapr()
        .save_state(STATESTORE, &item)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(Json(TicketResponse {
        ticket,
        expires_in: ttl.as_secs(),
    }))
}

fn spent_key(ticket: &str) -> String {
    format!("ws-ticket-spent-{ticket}")
}

/// Spends a ticket: the user it was issued to, or `None` if it is unknown, expired or already
/// spent. The spend is one first-write save of a "spent" marker, which the state store performs
/// atomically (daprd's Redis script refuses a first-write on an existing key), so of any number
/// of concurrent redemptions exactly one wins. A GET followed by an ETag-guarded DELETE would
/// not do: Dapr's Redis delete succeeds on a key that is already gone, ETag or not
/// (docs/dapr-behaviour.md §4.5).
pub async fn redeem(state: &AppState, ticket: &str) -> Result<Option<String>, DaprError> {
    if ticket.len() != 64 || !ticket.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let marker = StateItem {
        key: spent_key(ticket),
        value: serde_json::Value::Bool(true),
        etag: None,
        first_write: true,
        // Outlives the ticket, so a spent ticket can never be spent again.
        ttl: Some(state.realtime.ticket_ttl * 2),
    };
    match state.ops.dapr().save_state(STATESTORE, &marker).await {
        Ok(()) => {}
        Err(DaprError::AlreadyExists) => return Ok(None),
        Err(error) => return Err(error),
    }
    let Some(entry) = state
        .ops
        .dapr()
        .get_state::<TicketValue>(STATESTORE, &key(ticket))
        .await?
    else {
        return Ok(None);
    };
    // Only tidiness: the marker already makes the ticket worthless.
    if let Err(error) = state
        .ops
        .dapr()
        .delete_state(STATESTORE, &key(ticket), None)
        .await
    {
        tracing::debug!(%error, "could not delete a spent ticket; it expires anyway");
    }
    Ok(Some(entry.value.user_id))
}

/// The default ticket lifetime.
pub const DEFAULT_TICKET_TTL: Duration = Duration::from_secs(60);

/// The websocket service's OpenAPI document, served at `/openapi.json`. `/ws` (a WebSocket
/// upgrade) and `/api/sse` (an event stream) are not request/response operations and are
/// described in the README instead.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "taskfleet websocket", description = "Connection tickets for the caller's live updates. Every error is `{\"error\":{\"code\",\"message\",\"details\"}}`."),
    paths(issue),
    components(schemas(TicketResponse)),
    modifiers(&StandardResponses),
)]
pub struct ApiDoc;
