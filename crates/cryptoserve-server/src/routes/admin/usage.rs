//! `GET /api/admin/usage`: crypto usage counters, per minute.

use actix_web::{web, HttpResponse};

use cryptoserve_api::{UsageQuery, UsageReport};

use crate::auth::AdminPrincipal;
use crate::error::ApiResult;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/usage").route(web::get().to(usage)));
}

#[utoipa::path(
    get,
    path = "/api/admin/usage",
    tag = "admin",
    operation_id = "list_usage",
    params(UsageQuery),
    responses(
        (status = 200, description = "Per-minute crypto usage counters with byte totals", body = UsageReport),
        (status = 400, description = "`invalid_request`: bad `since`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn usage(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    query: web::Query<UsageQuery>,
) -> ApiResult<HttpResponse> {
    let usage = state
        .store
        .query_usage(
            query.context.as_deref(),
            query.identity.as_deref(),
            query.since,
        )
        .await?;
    Ok(HttpResponse::Ok().json(UsageReport { usage }))
}
