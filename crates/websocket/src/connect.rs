//! Who is connecting: `?token=` is a JWT or a ticket, checked before any upgrade. Anything else
//! in the query (such as `user_id`) is ignored, never trusted.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use common::auth::AuthError;
use common::error::ApiError;
use serde::Deserialize;

use crate::startup::AppState;

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: Option<String>,
}

/// The authenticated owner of a real-time connection.
pub struct Connector {
    /// The user whose events this connection receives.
    pub user_id: String,
}

impl FromRequestParts<AppState> for Connector {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = Query::<TokenQuery>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(q)| q.token)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        // A JWT has three dot-separated parts; a ticket is hex.
        let user_id = if token.contains('.') {
            state.verifier.verify(&token).await?.sub
        } else {
            crate::ticket::redeem(state, &token)
                .await
                .map_err(|e| ApiError::Unavailable(e.into()))?
                .ok_or_else(|| AuthError::Invalid("unknown, expired or spent ticket".into()))?
        };
        // A ticket minted before the account was deleted opens nothing after it.
        state.verifier.check_account(&user_id).await?;
        Ok(Self { user_id })
    }
}

/// The 429 for a user who already holds as many connections as one replica allows.
pub fn too_many_connections() -> ApiError {
    ApiError::RateLimited {
        what: "connections",
        retry_after_secs: 5,
    }
}
