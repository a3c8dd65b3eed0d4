//! The user-facing audit API: `GET /api/audit` and `GET /api/audit/verify`. Every query is
//! scoped to the caller (the JWT `sub`).

pub mod list;
pub mod verify;

use axum::Router;
use axum::routing::get;
use common::openapi::StandardResponses;

use crate::startup::AppState;

/// The audit API's OpenAPI document, served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "taskfleet audit", description = "The caller's audit trail. Every error is `{\"error\":{\"code\",\"message\",\"details\"}}`."),
    paths(list::list_entries, verify::verify_chain),
    components(schemas(list::AuditEntry, list::AuditPage, verify::Verification)),
    modifiers(&StandardResponses),
)]
pub struct ApiDoc;

/// Both audit routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/audit", get(list::list_entries))
        .route("/api/audit/verify", get(verify::verify_chain))
}
