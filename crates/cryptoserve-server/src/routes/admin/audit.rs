//! Reading and verifying the admin audit chain.

use actix_web::{web, HttpResponse};
use cryptoserve_api::{AuditPage, AuditQuery};

use crate::auth::AdminPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/audit").route(web::get().to(list)))
        .service(super::resource("/audit/verify").route(web::get().to(verify)));
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
        (status = 200, description = "Whether the chain is intact, and where it breaks", body = cryptoserve_api::AuditVerification),
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
