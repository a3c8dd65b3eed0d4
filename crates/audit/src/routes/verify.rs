//! `GET /api/audit/verify`: recomputes the caller's chain and says whether it is intact.

use axum::Json;
use axum::extract::State;
use common::error::ApiError;
use common::limits::Limited;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::startup::{AppState, Verifications};

/// The verdict on one user's chain.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verification {
    /// Every entry links to its predecessor and hashes to its stored hash.
    pub intact: bool,
    /// How many entries the chain has.
    pub entries: u64,
    /// The event id of the first entry that does not fit, if any.
    pub first_broken_event_id: Option<Uuid>,
}

/// Verifies the caller's chain (never anyone else's).
#[utoipa::path(get, path = "/api/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Verification)))]
pub async fn verify_chain(
    State(state): State<AppState>,
    Limited(user, _): Limited<Verifications>,
) -> Result<Json<Verification>, ApiError> {
    let check = crate::journal::verify(&state.pool, &user.user_id).await?;
    Ok(Json(Verification {
        intact: check.first_broken().is_none(),
        entries: check.entries(),
        first_broken_event_id: check.first_broken(),
    }))
}
