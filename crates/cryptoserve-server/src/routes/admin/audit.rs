//! Reading and verifying the admin audit chain.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use cryptoserve_store::AuditRecord;

use crate::auth::AdminPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/audit").route(web::get().to(list)))
        .service(super::resource("/audit/verify").route(web::get().to(verify)));
}

/// Query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only rows at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only rows with a larger id (for paging).
    pub after_id: Option<i64>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Rows in chain order.
    #[schema(value_type = Vec<crate::openapi::records::AuditRecord>)]
    pub entries: Vec<AuditRecord>,
}

#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "admin",
    operation_id = "list_audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Rows in chain order", body = AuditPage),
        (status = 400, description = "`invalid_request`: bad `since`, `after_id` or `limit`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::InvalidRequest(
            "`limit` must be between 1 and 1000".into(),
        ));
    }
    let rows = state
        .store
        .list_audit(query.since, query.after_id, limit)
        .await?;
    Ok(HttpResponse::Ok().json(AuditPage { entries: rows }))
}

#[utoipa::path(
    get,
    path = "/api/admin/audit/verify",
    tag = "admin",
    operation_id = "verify_audit",
    responses(
        (status = 200, description = "Whether the chain is intact, and where it breaks", body = crate::openapi::records::AuditVerification),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn verify(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
) -> ApiResult<HttpResponse> {
    let verification = state.store.verify_audit_chain().await?;
    Ok(HttpResponse::Ok().json(verification))
}
