//! `GET /metrics`: Prometheus text exposition.

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

/// This route's part of the API description.
#[derive(Debug, OpenApi)]
#[openapi(paths(metrics))]
pub struct MetricsApi;

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "metrics",
    operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String),
        (status = 500, description = "`internal_error`: the metrics could not be rendered", body = crate::openapi::ErrorBody),
    )
)]
async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let pool = state.store.pool_status();
    for (label, value) in [
        ("size", pool.size),
        ("idle", pool.idle),
        ("in_use", pool.in_use),
        ("max", pool.max),
    ] {
        state
            .metrics
            .db_pool
            .with_label_values(&[label])
            .set(i64::from(value));
    }
    state
        .metrics
        .mirror_limiter(&state.rate_limits.limiter.stats());
    // Before the first load the age counts as past the bound, as readiness does.
    let max_staleness = state.settings.metadata_max_staleness();
    let age = state
        .metadata
        .age()
        .unwrap_or(max_staleness + std::time::Duration::from_secs(1));
    let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    state.metrics.metadata_age.set(seconds(age));
    state
        .metrics
        .metadata_max_staleness
        .set(seconds(max_staleness));
    let text = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}
