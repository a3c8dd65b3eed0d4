//! What every service's OpenAPI document shares: the bearer scheme, the one error body
//! (`{"error":{"code","message","details"}}`, [`crate::error::ApiError`]) and the error answers
//! any operation can give, so that a client (or a fuzzer) finds every status it can receive
//! documented with its shape.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, PartialSchema, ToSchema};

/// The body of every error answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable, machine-readable (`validation_failed`, `not_found`, `rate_limited`, …).
    pub code: String,
    /// For people; never carries internals.
    pub message: String,
    /// Per error: the invalid fields (422), the current version (412), `retry_after` (429).
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The answers any operation can give besides its own: a malformed request, no or a bad token,
/// a body too large or not JSON, invalid fields, a spent budget, a dependency away, a fault.
const STANDARD: [(&str, &str); 9] = [
    (
        "400",
        "malformed request (JSON, path, query, header or cursor)",
    ),
    ("401", "no valid bearer token"),
    ("405", "the path does not take this method"),
    ("413", "body over the limit"),
    ("415", "body not `application/json`"),
    ("422", "invalid field values; `details` names them"),
    (
        "429",
        "a per-user budget is spent; `Retry-After` says when to retry",
    ),
    ("500", "a fault on our side; logged, never detailed"),
    (
        "503",
        "a dependency (the database, the sidecar) is away; retry later",
    ),
];

/// Adds the bearer scheme, the error schemas and the [`STANDARD`] answers (each with the error
/// body) to every operation, keeping what an operation documents itself.
pub struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components
            .schemas
            .insert(ErrorBody::name().into_owned(), ErrorBody::schema());
        components
            .schemas
            .insert(ErrorDetail::name().into_owned(), ErrorDetail::schema());
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_standard(operation);
            }
        }
    }
}

fn add_standard(operation: &mut Operation) {
    for (status, description) in STANDARD {
        let error_body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .and_modify(|existing| {
                if let RefOr::T(response) = existing
                    && response.content.is_empty()
                {
                    response
                        .content
                        .insert("application/json".to_owned(), error_body.clone());
                }
            })
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", error_body)
                        .build(),
                )
            });
    }
}

/// `GET /openapi.json`: the service's document (public, like `/healthz`: it describes, grants
/// nothing).
pub fn route(doc: OpenApi) -> axum::Router {
    let doc = std::sync::Arc::new(doc);
    axum::Router::new().route(
        "/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
}
