//! The user-facing audit API: `GET /api/audit` and `GET /api/audit/verify`. Every query is
//! scoped to the caller (the JWT `sub`).

pub mod list;
pub mod verify;

use axum::Router;
use axum::routing::get;

use crate::startup::AppState;

/// Both audit routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/audit", get(list::list_entries))
        .route("/api/audit/verify", get(verify::verify_chain))
}
