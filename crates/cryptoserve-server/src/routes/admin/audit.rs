//! Reading and verifying the admin audit chain, against the latest checkpoint in Redis and
//! optionally one the caller kept.

use actix_web::{web, HttpResponse};
use cryptoserve_api::{AuditPage, AuditQuery, AuditVerifyRequest, CheckpointSource};

use crate::audit_log::latest_redis_checkpoint;
use crate::auth::AdminPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/audit").route(web::get().to(list)))
        .service(
            super::resource("/audit/verify")
                .route(web::get().to(verify))
                .route(web::post().to(verify_with_checkpoint)),
        );
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
        (status = 200, description = "Whether the chain is intact (compared with the latest checkpoint in Redis when configured), and every finding", body = cryptoserve_api::AuditVerification),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn verify(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
) -> ApiResult<HttpResponse> {
    run_verification(&state, AuditVerifyRequest::default()).await
}

#[utoipa::path(
    post,
    path = "/api/admin/audit/verify",
    tag = "admin",
    operation_id = "verify_audit_with_checkpoint",
    request_body = AuditVerifyRequest,
    responses(
        (status = 200, description = "Whether the chain still reaches the given checkpoint (and the one in Redis) intact, and every finding", body = cryptoserve_api::AuditVerification),
        (status = 400, description = "`invalid_checkpoint`: the checkpoint's MAC does not verify; `invalid_json`: not a checkpoint", body = crate::openapi::ErrorBody),
        crate::openapi::BodyErrors,
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn verify_with_checkpoint(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    body: web::Json<AuditVerifyRequest>,
) -> ApiResult<HttpResponse> {
    run_verification(&state, body.into_inner()).await
}

async fn run_verification(
    state: &AppState,
    request: AuditVerifyRequest,
) -> ApiResult<HttpResponse> {
    let mut checkpoints = Vec::new();
    if let Some(checkpoint) = request.checkpoint {
        if !state.store.checkpoint_is_authentic(&checkpoint) {
            return Err(ApiError::InvalidCheckpoint);
        }
        checkpoints.push((CheckpointSource::Request, checkpoint));
    }
    match latest_redis_checkpoint(state).await {
        Ok(Some(checkpoint)) => checkpoints.push((CheckpointSource::Redis, checkpoint)),
        Ok(None) => {}
        // Verifying without it still says everything the chain itself can.
        Err(error) => {
            tracing::warn!(%error, "verifying the audit chain without the redis checkpoint")
        }
    }
    let verification = state.store.verify_audit_chain_against(checkpoints).await?;
    Ok(HttpResponse::Ok().json(verification))
}
