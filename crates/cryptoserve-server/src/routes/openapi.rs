//! `GET /api/openapi.json`: the API description (no auth), generated once per process.

use std::sync::LazyLock;

use actix_web::{web, HttpResponse};
use utoipa::OpenApi;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/openapi.json", web::get().to(openapi_json));
}

/// The document never changes while the process runs, so it is rendered once.
static DOCUMENT: LazyLock<String> = LazyLock::new(crate::openapi::to_json);

/// This route's part of the API description.
#[derive(Debug, OpenApi)]
#[openapi(paths(openapi_json))]
pub struct OpenApiDocApi;

/// Handler.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "health",
    operation_id = "openapi_json",
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object),
    )
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
