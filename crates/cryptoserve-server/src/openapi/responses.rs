//! The error responses routes share, so each handler's `responses(...)` lists only what is
//! particular to it. Every error body is `cryptoserve_api::ErrorBody`, rendered by
//! `middleware.rs`.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, PartialSchema};

/// An error response with `description`.
pub fn error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

fn responses(list: impl IntoIterator<Item = (u16, Response)>) -> BTreeMap<String, RefOr<Response>> {
    list.into_iter()
        .map(|(status, response)| (status.to_string(), RefOr::T(response)))
        .collect()
}

/// 401 and 403: routes that need a bearer token.
#[derive(Debug)]
pub struct AuthErrors;

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([
            (
                401,
                error("`unauthorized`: no token, or an invalid, expired or revoked one").build(),
            ),
            (
                403,
                error("`forbidden`: the identity may not do this (admin role, or context not allowed)")
                    .build(),
            ),
        ])
    }
}

/// 413 and 415: routes that take a JSON body (each lists its own 400).
#[derive(Debug)]
pub struct BodyErrors;

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([
            (
                413,
                error("`payload_too_large`: the body exceeds the configured limit").build(),
            ),
            (
                415,
                error("`unsupported_media_type`: the body is not sent as `application/json`")
                    .build(),
            ),
        ])
    }
}

/// 503: routes that need the database.
#[derive(Debug)]
pub struct StoreErrors;

impl IntoResponses for StoreErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses([(
            503,
            error("`service_unavailable`: the database is unavailable; retry shortly").build(),
        )])
    }
}

/// 429: crypto routes, which are rate limited.
#[derive(Debug)]
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let retry_after = HeaderBuilder::new()
            .schema(u64::schema())
            .description(Some("Seconds until a retry can succeed."))
            .build();
        responses([(
            429,
            error("`rate_limited`: an IP, identity or context limit refused the request")
                .header("Retry-After", retry_after)
                .build(),
        )])
    }
}
