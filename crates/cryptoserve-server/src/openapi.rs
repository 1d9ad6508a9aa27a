//! The OpenAPI 3 description of the HTTP API, generated from the handlers and their types.
//!
//! Each route family declares its operations beside its `configure` (`CryptoApi`, `AdminApi`,
//! `HealthApi`, `MetricsApi`); [`spec`] merges them under one document with the bearer scheme
//! and the shared error schema. It is served at `GET /api/openapi.json` and committed as
//! `docs/openapi.json`; `tests/openapi.rs` fails when the two differ.
//!
//! - `responses.rs`: the error responses routes share.
//!
//! Request, response and record schemas come from the `cryptoserve-api` types themselves
//! ([`ErrorBody`], [`ContextName`], the store's records), so there is no second description.
//! - `transit.rs`: Vault's envelope and error shapes and the Transit request bodies.

mod responses;
pub mod transit;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use cryptoserve_api::{ContextName, ErrorBody, ErrorDetail, CONTEXT_NAME_PATTERN};
pub use responses::{AuthErrors, BodyErrors, RateLimited, StoreErrors};

use crate::routes;

/// The document's frame: title, tags, security scheme, shared schemas.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "CryptoServe",
        description = "Encryption as a service: encrypt, decrypt and manage keys per context \
                       without ever handling key material. Every error is \
                       `{\"error\": {\"code\", \"message\", \"request_id\"}}` with a stable `code`. \
                       Any route answers `431` `request_header_fields_too_large` when the request's \
                       header fields exceed 16 KiB.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(ErrorBody, ErrorDetail, ContextName)),
    modifiers(&BearerScheme),
    tags(
        (name = "crypto", description = "Encrypt, decrypt, rewrap and data keys; needs a token allowed to use the context"),
        (name = "admin", description = "Contexts, identities, tokens, rate limits, audit and usage; needs an admin token"),
        (name = "health", description = "Probes for load balancers and orchestrators, and this document; no token"),
        (name = "metrics", description = "Prometheus metrics; no token"),
        (name = "transit", description = "The Vault-Transit-compatible API (`/v1/...`, mount `transit` by default): Vault's envelope, `{\"errors\": [...]}` errors and status codes; the token in `X-Vault-Token` or `Authorization: Bearer`. See docs/vault-compatibility.md"),
    )
)]
struct ApiFrame;

/// Adds the `bearer` security scheme the operations refer to.
#[derive(Debug)]
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from `cryptoserve identity create` or `POST /api/admin/identities`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "vault_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Vault-Token",
                "The same identity token, as Vault clients send it (Transit API)",
            ))),
        );
    }
}

/// The whole API description.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiFrame::openapi()
        .merge_from(routes::crypto::CryptoApi::openapi())
        .merge_from(routes::admin::AdminApi::openapi())
        .merge_from(routes::health::HealthApi::openapi())
        .merge_from(routes::metrics::MetricsApi::openapi())
        .merge_from(routes::openapi::OpenApiDocApi::openapi())
        .merge_from(routes::transit::TransitApi::openapi())
}

/// [`spec`] as pretty JSON with a trailing newline, exactly as committed in `docs/openapi.json`.
pub fn to_json() -> String {
    // Serialising plain data structures (strings, maps, numbers) cannot fail.
    let mut text = spec().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
