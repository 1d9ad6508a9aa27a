//! Admin routes (`/api/admin/...`), all behind [`AdminPrincipal`]. Every change is written to
//! the admin audit log in the same transaction as the change itself; refused changes are
//! audited as failures.
//!
//! - `contexts.rs`: create, list, show, rotate, minimum decryption version.
//! - `identities.rs`: create (returns the token), list, revoke; token revocation.
//! - `rate_limits.rs`: defaults and overrides, bucket resets.
//! - `audit.rs`: paging through and verifying the audit chain.

mod audit;
mod contexts;
mod identities;
mod rate_limits;
mod usage;

use actix_web::{web, HttpMessage, HttpRequest};
use utoipa::OpenApi;

use cryptoserve_store::AuditEntry;

use crate::auth::AdminPrincipal;
use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;

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

/// The admin routes' part of the API description (`GET /usage` is described in
/// `crate::openapi::usage`).
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        contexts::create,
        contexts::list,
        contexts::show,
        contexts::rotate,
        contexts::set_min_decryption_version,
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
        audit::verify
    ),
    components(schemas(
        rate_limits::OverrideScope,
        crate::openapi::records::RateLimitDimension
    ))
)]
pub struct AdminApi;

use super::resource;

/// The audit entry for an admin action by `admin` in this request.
pub fn audit_entry(
    state: &AppState,
    req: &HttpRequest,
    admin: &AdminPrincipal,
    action: &str,
    target: &str,
) -> AuditEntry {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let client_ip = state
        .client_ip
        .resolve(req.peer_addr(), req.headers())
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    AuditEntry::new(admin.0.id(), action, target).from_request(request_id, client_ip)
}

/// Records a refused admin action (best effort: the refusal itself is what the client sees)
/// and hands the error back.
pub async fn audit_failure(state: &AppState, entry: AuditEntry, error: ApiError) -> ApiError {
    let entry = entry
        .with_details(serde_json::json!({ "error": error.code() }))
        .failed();
    if let Err(store_error) = state.store.record_audit(entry).await {
        tracing::warn!(error = %store_error, "could not audit a refused admin action");
    }
    error
}
