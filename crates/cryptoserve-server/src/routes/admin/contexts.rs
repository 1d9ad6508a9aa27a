//! Context administration.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cryptoserve_core::{Algorithm, ContextName};
use cryptoserve_store::{ContextRecord, KeyVersionRecord, NewContext};

use super::{audit_entry, audit_failure, resource};
use crate::auth::AdminPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/contexts")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(resource("/contexts/{name}").route(web::get().to(show)))
    .service(resource("/contexts/{name}/rotate").route(web::post().to(rotate)))
    .service(
        resource("/contexts/{name}/min-decryption-version")
            .route(web::put().to(set_min_decryption_version)),
    );
}

/// Create body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateContext {
    /// `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`
    #[schema(value_type = crate::openapi::ContextName)]
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `aes-256-gcm` (default) or `chacha20-poly1305`.
    #[schema(value_type = Option<crate::openapi::records::Algorithm>)]
    pub algorithm: Option<String>,
}

/// A context with its key versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextDetail {
    /// The context.
    #[serde(flatten)]
    #[schema(value_type = crate::openapi::records::ContextRecord)]
    pub context: ContextRecord,
    /// Its versions, oldest first.
    #[schema(value_type = Vec<crate::openapi::records::KeyVersionRecord>)]
    pub key_versions: Vec<KeyVersionRecord>,
}

/// List body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextList {
    /// Every context.
    #[schema(value_type = Vec<crate::openapi::records::ContextRecord>)]
    pub contexts: Vec<ContextRecord>,
}

/// Minimum-version body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MinVersion {
    /// Oldest version still decryptable.
    #[schema(example = 1)]
    pub version: u32,
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
        (status = 201, description = "Created, with key version 1", body = crate::openapi::records::ContextRecord),
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
    let store_algorithm = cryptoserve_store::Algorithm::parse(algorithm.name())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let result = state
        .store
        .create_context(
            NewContext {
                name: name.as_str().to_owned(),
                description,
                algorithm: store_algorithm,
                master_key_id: state.cipher.keyring().active().id().to_string(),
            },
            entry
                .clone()
                .with_details(serde_json::json!({ "algorithm": algorithm.name() })),
        )
        .await;
    match result {
        Ok(record) => {
            state.metadata.put_context(record.clone());
            Ok(HttpResponse::Created().json(record))
        }
        Err(error) => Err(audit_failure(&state, entry, error.into()).await),
    }
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
        (status = 200, description = "Rotated: a new current key version", body = crate::openapi::records::ContextRecord),
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
    let master_key_id = state.cipher.keyring().active().id().to_string();
    match state
        .store
        .rotate_context(name.as_str(), &master_key_id, entry.clone())
        .await
    {
        Ok(record) => {
            state.metadata.put_context(record.clone());
            Ok(HttpResponse::Ok().json(record))
        }
        Err(error) => Err(audit_failure(&state, entry, context_error(error, &name)).await),
    }
}

#[utoipa::path(
    put,
    path = "/api/admin/contexts/{name}/min-decryption-version",
    tag = "admin",
    operation_id = "set_min_decryption_version",
    params(("name" = crate::openapi::ContextName, Path, description = "Context name")),
    request_body = MinVersion,
    responses(
        (status = 200, description = "Versions below it are retired", body = crate::openapi::records::ContextRecord),
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
    match state
        .store
        .set_min_decryption_version(name.as_str(), version, entry.clone())
        .await
    {
        Ok(record) => {
            state.metadata.put_context(record.clone());
            Ok(HttpResponse::Ok().json(record))
        }
        Err(error) => Err(audit_failure(&state, entry, context_error(error, &name)).await),
    }
}

fn context_error(error: cryptoserve_store::StoreError, name: &ContextName) -> ApiError {
    match error {
        cryptoserve_store::StoreError::NotFound { .. } => {
            ApiError::UnknownContext(name.as_str().to_owned())
        }
        other => other.into(),
    }
}
