//! Admin routes (`/api/admin/...`), all behind [`crate::auth::AdminPrincipal`]. Every change is written to
//! the admin audit log in the same transaction as the change itself; refused changes are
//! audited as failures.
//!
//! - `contexts.rs`: create, list, show, rotate, configure, delete (through `crate::contexts`).
//! - `identities.rs`: create (returns the token), list, revoke; token revocation.
//! - `rate_limits.rs`: defaults and overrides, bucket resets.
//! - `audit.rs`: paging through and verifying the audit chain; `usage.rs`: usage counters.
//!
//! Request and response bodies are `cryptoserve-api` types, shared with the client.

mod audit;
mod contexts;
mod identities;
mod rate_limits;
mod usage;

use actix_web::web;
use utoipa::OpenApi;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/admin")
            .configure(contexts::configure)
            .configure(identities::configure)
            .configure(rate_limits::configure)
            .configure(audit::configure)
            .configure(usage::configure),
    );
}

/// The admin routes' part of the API description.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        contexts::create,
        contexts::list,
        contexts::show,
        contexts::rotate,
        contexts::set_min_decryption_version,
        contexts::update_config,
        contexts::delete,
        identities::create,
        identities::list,
        identities::show,
        identities::revoke,
        identities::revoke_token,
        rate_limits::list,
        rate_limits::put_default,
        rate_limits::show,
        rate_limits::put_override,
        rate_limits::delete_override,
        rate_limits::reset,
        audit::list,
        audit::verify,
        audit::verify_with_checkpoint,
        usage::usage
    ),
    components(schemas(cryptoserve_api::OverrideScope, cryptoserve_api::RateLimitDimension))
)]
pub struct AdminApi;

use super::resource;

pub use crate::admin_audit::{audit_entry, audit_failure};
/// The rate-limit policy bounds the admin routes check, public for the fuzz targets (`fuzz/`).
pub use rate_limits::validate as validate_rate_limit_policy;
