//! Who may call `/mcp`: a bearer JWT for this endpoint's audience whose `jti` is a registered,
//! unrevoked agent token of its user ([`super::tokens`]), within the user's request budget.
//! Anything else is 401 with a `WWW-Authenticate` challenge naming the protected-resource
//! metadata (RFC 9728).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::auth::{JwtVerifier, bearer_token};
use common::error::{ApiError, Refusal};
use sqlx::PgPool;

use super::McpSettings;
use crate::tasks::WriteContext;

/// The authenticated agent's user, put into the request by [`authenticate`].
#[derive(Debug, Clone)]
pub(super) struct McpUser {
    pub(super) user_id: String,
    pub(super) context: WriteContext,
}

#[derive(Clone)]
pub(super) struct Gate {
    pub(super) verifier: Arc<JwtVerifier>,
    pub(super) settings: Arc<McpSettings>,
    /// Per-user budget of `/mcp` requests.
    pub(super) limit: Arc<common::limits::UserLimit>,
    /// The agent-token registry.
    pub(super) pool: PgPool,
}

fn unauthorized(settings: &McpSettings, token_given: bool) -> Response {
    let mut challenge = format!("Bearer resource_metadata=\"{}\"", settings.metadata_url());
    if token_given {
        challenge.push_str(", error=\"invalid_token\"");
    }
    ApiError::from(
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token issued for this MCP endpoint is required",
        )
        .challenge(challenge),
    )
    .into_response()
}

/// Verifies the bearer token against the MCP audience and records its user for the tools.
pub(super) async fn authenticate(
    State(gate): State<Gate>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(token) = bearer_token(&parts) else {
        return unauthorized(&gate.settings, false);
    };
    let claims = match gate
        .verifier
        .verify_for_mcp(token, &gate.settings.url)
        .await
    {
        Ok(claims) => claims,
        Err(error) => {
            tracing::info!(%error, "MCP token refused");
            return unauthorized(&gate.settings, true);
        }
    };
    // A signature is not enough: the token must be registered to its user and not revoked.
    let registered = match claims.jti.as_deref() {
        Some(jti) => super::tokens::is_active(&gate.pool, &claims.sub, jti).await,
        None => Ok(false),
    };
    match registered {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(user = %claims.sub, "MCP token not registered, revoked or expired");
            return unauthorized(&gate.settings, true);
        }
        Err(error) => return ApiError::from(error).into_response(),
    }
    if let Err(limited) = gate.limit.check(&claims.sub) {
        return limited.into_response();
    }
    let Ok(context) = WriteContext::from_request_parts(&mut parts, &()).await;
    parts.extensions.insert(McpUser {
        user_id: claims.sub,
        context,
    });
    next.run(Request::from_parts(parts, body)).await
}
