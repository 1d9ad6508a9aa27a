//! Audit entries for admin actions, whichever API they came through (the native admin API or
//! the Transit key routes): who, what, from where, with the request id that ties the row to
//! the request log.

use actix_web::{HttpMessage, HttpRequest};

use cryptoserve_store::AuditEntry;

use crate::auth::AdminPrincipal;
use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::state::AppState;

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
/// and hands the error back. A refusal because the database is unavailable is not written
/// there (the write would only wait out the pool's timeout a second time before failing
/// too); it is logged with the request id instead.
pub async fn audit_failure(state: &AppState, entry: AuditEntry, error: ApiError) -> ApiError {
    if matches!(error, ApiError::ServiceUnavailable(_)) {
        tracing::warn!(
            action = %entry.action,
            target = %entry.target,
            actor = %entry.actor,
            "admin action refused while the database is unavailable; not audited"
        );
        return error;
    }
    let entry = entry
        .with_details(serde_json::json!({ "error": error.code() }))
        .failed();
    if let Err(store_error) = state.store.record_audit(entry).await {
        tracing::warn!(error = %store_error, "could not audit a refused admin action");
    }
    error
}
