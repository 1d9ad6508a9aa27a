//! `GET /api/admin/usage`: crypto usage counters, per minute.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::AdminPrincipal;
use crate::error::ApiResult;
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/usage").route(web::get().to(usage)));
}

/// Filters.
#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    /// Only this context.
    pub context: Option<String>,
    /// Only this identity id.
    pub identity: Option<String>,
    /// Only minutes at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
}

async fn usage(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    query: web::Query<UsageQuery>,
) -> ApiResult<HttpResponse> {
    let rows = state
        .store
        .query_usage(
            query.context.as_deref(),
            query.identity.as_deref(),
            query.since,
        )
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "usage": rows })))
}
