//! HTTP routes, one file per endpoint family.
//!
//! - `crypto/`: encrypt, decrypt, batch, rewrap, datakey (`/api/v1/crypto/...`).
//! - `admin/`: contexts, identities, tokens, rate limits, audit (`/api/admin/...`).
//! - `health.rs`: `/health/live`, `/health/ready`, `/health/deep`.
//! - `metrics.rs`: `/metrics`.
//! - `openapi.rs`: `/api/openapi.json`, the API description (see `crate::openapi`).
//! - `transit/`: the Vault-Transit-compatible API (`/v1/...`), a thin layer over the same
//!   admission (`crypto::CryptoCall`), context management (`crate::contexts`) and core.

pub mod admin;
pub mod crypto;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod transit;

use actix_web::web;

/// A route whose other methods answer 405 `method_not_allowed` instead of falling through to
/// the 404 default service. Every route family registers through this.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(crate::middleware::method_not_allowed))
}

/// Registers every route; the Transit API answers under `/v1/<transit_mount>/`.
pub fn configure(cfg: &mut web::ServiceConfig, transit_mount: &str) {
    health::configure(cfg);
    metrics::configure(cfg);
    crypto::configure(cfg);
    admin::configure(cfg);
    openapi::configure(cfg);
    transit::configure(cfg, transit_mount);
}
