//! Context administration.

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{ConfigureContext, ContextDetail, ContextList, CreateContext, MinVersion};
use cryptoserve_core::{Algorithm, ContextName};
use cryptoserve_store::{ContextAttributes, ContextConfig};

use super::{audit_entry, resource};
use crate::auth::AdminPrincipal;
use crate::contexts::ContextDefinition;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/contexts")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        resource("/contexts/{name}")
            .route(web::get().to(show))
            .route(web::delete().to(delete)),
    )
    .service(resource("/contexts/{name}/config").route(web::patch().to(update_config)))
    .service(resource("/contexts/{name}/rotate").route(web::post().to(rotate)))
    .service(
        resource("/contexts/{name}/min-decryption-version")
            .route(web::put().to(set_min_decryption_version)),
    );
}

fn parse_name(name: &str) -> ApiResult<ContextName> {
    ContextName::parse(name).map_err(|e| ApiError::InvalidRequest(e.to_string()))
}

#[utoipa::path(
    post,
    path = "/api/admin/contexts",
    tag = "admin",
    operation_id = "create_context",
    request_body = CreateContext,
    responses(
        (status = 201, description = "Created, with key version 1", body = cryptoserve_api::ContextRecord),
        (status = 400, description = "`invalid_request` (name, algorithm or description) or `invalid_json`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: a context with this name exists", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    body: web::Json<CreateContext>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let entry = audit_entry(&state, &req, &admin, "context.create", &body.name);
    let name = parse_name(&body.name)?;
    let algorithm: Algorithm = match body.algorithm.as_deref() {
        None => Algorithm::default(),
        Some(text) => text
            .parse()
            .map_err(|e: cryptoserve_core::CoreError| ApiError::InvalidRequest(e.to_string()))?,
    };
    let description = body.description.unwrap_or_default();
    if description.len() > 1024 {
        return Err(ApiError::InvalidRequest(
            "`description` must be at most 1024 characters".into(),
        ));
    }
    let definition = ContextDefinition {
        algorithm,
        description,
        attributes: ContextAttributes {
            derived: body.derived.unwrap_or(false),
            convergent: body.convergent.unwrap_or(false),
            deletion_allowed: body.deletion_allowed.unwrap_or(false),
            auto_rotate_period_secs: body.auto_rotate_period_secs.unwrap_or(0),
        },
    };
    let record = crate::contexts::create(&state, name.as_str(), definition, entry).await?;
    Ok(HttpResponse::Created().json(record))
}

#[utoipa::path(
    get,
    path = "/api/admin/contexts",
    tag = "admin",
    operation_id = "list_contexts",
    responses(
        (status = 200, description = "Every context", body = ContextList),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
) -> ApiResult<HttpResponse> {
    let contexts = state.store.list_contexts().await?;
    Ok(HttpResponse::Ok().json(ContextList { contexts }))
}

#[utoipa::path(
    get,
    path = "/api/admin/contexts/{name}",
    tag = "admin",
    operation_id = "show_context",
    params(("name" = crate::openapi::ContextName, Path, description = "Context name")),
    responses(
        (status = 200, description = "The context and its key versions", body = ContextDetail),
        (status = 400, description = "`invalid_request`: not a valid context name", body = crate::openapi::ErrorBody),
        (status = 404, description = "`unknown_context`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let name = parse_name(&path)?;
    let context = state
        .store
        .get_context(name.as_str())
        .await?
        .ok_or_else(|| ApiError::UnknownContext(name.as_str().to_owned()))?;
    let key_versions = state.store.list_key_versions(name.as_str()).await?;
    Ok(HttpResponse::Ok().json(ContextDetail {
        context,
        key_versions,
    }))
}

#[utoipa::path(
    post,
    path = "/api/admin/contexts/{name}/rotate",
    tag = "admin",
    operation_id = "rotate_context",
    params(("name" = crate::openapi::ContextName, Path, description = "Context name")),
    responses(
        (status = 200, description = "Rotated: a new current key version", body = cryptoserve_api::ContextRecord),
        (status = 400, description = "`invalid_request`: not a valid context name", body = crate::openapi::ErrorBody),
        (status = 404, description = "`unknown_context`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: a concurrent change won", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let name = parse_name(&path)?;
    let entry = audit_entry(&state, &req, &admin, "context.rotate", name.as_str());
    let record = crate::contexts::rotate(&state, name.as_str(), entry).await?;
    Ok(HttpResponse::Ok().json(record))
}

#[utoipa::path(
    put,
    path = "/api/admin/contexts/{name}/min-decryption-version",
    tag = "admin",
    operation_id = "set_min_decryption_version",
    params(("name" = crate::openapi::ContextName, Path, description = "Context name")),
    request_body = MinVersion,
    responses(
        (status = 200, description = "Versions below it are retired", body = cryptoserve_api::ContextRecord),
        (status = 400, description = "`invalid_request` (name or version) or `invalid_json`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`unknown_context`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: the version is above the current one", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn set_min_decryption_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<String>,
    body: web::Json<MinVersion>,
) -> ApiResult<HttpResponse> {
    let name = parse_name(&path)?;
    let entry = audit_entry(
        &state,
        &req,
        &admin,
        "context.min_decryption_version",
        name.as_str(),
    )
    .with_details(serde_json::json!({ "version": body.version }));
    let version = i32::try_from(body.version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::InvalidRequest("`version` must be at least 1".into()))?;
    let config = ContextConfig {
        min_decryption_version: Some(version),
        ..ContextConfig::default()
    };
    let record = crate::contexts::configure(&state, name.as_str(), config, entry).await?;
    Ok(HttpResponse::Ok().json(record))
}

#[utoipa::path(
    patch,
    path = "/api/admin/contexts/{name}/config",
    tag = "admin",
    operation_id = "configure_context",
    params(("name" = crate::openapi::ContextName, Path, description = "Context name")),
    request_body = ConfigureContext,
    responses(
        (status = 200, description = "The context with its new configuration", body = cryptoserve_api::ContextRecord),
        (status = 400, description = "`invalid_request` (name or auto-rotation period) or `invalid_json`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`unknown_context`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: the version window is impossible", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn update_config(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<String>,
    body: web::Json<ConfigureContext>,
) -> ApiResult<HttpResponse> {
    let name = parse_name(&path)?;
    let entry = audit_entry(&state, &req, &admin, "context.configure", name.as_str());
    let body = body.into_inner();
    let config = ContextConfig {
        min_decryption_version: body.min_decryption_version,
        min_encryption_version: body.min_encryption_version,
        deletion_allowed: body.deletion_allowed,
        auto_rotate_period_secs: body.auto_rotate_period_secs,
    };
    let record = crate::contexts::configure(&state, name.as_str(), config, entry).await?;
    Ok(HttpResponse::Ok().json(record))
}

#[utoipa::path(
    delete,
    path = "/api/admin/contexts/{name}",
    tag = "admin",
    operation_id = "delete_context",
    params(("name" = crate::openapi::ContextName, Path, description = "Context name")),
    responses(
        (status = 204, description = "Deleted: its ciphertext never decrypts again"),
        (status = 400, description = "`invalid_request`: not a valid context name", body = crate::openapi::ErrorBody),
        (status = 404, description = "`unknown_context`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: `deletion_allowed` is not set", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let name = parse_name(&path)?;
    let entry = audit_entry(&state, &req, &admin, "context.delete", name.as_str());
    crate::contexts::delete(&state, name.as_str(), entry).await?;
    Ok(HttpResponse::NoContent().finish())
}
