//! `/v1/<mount>/keys...`: create, read, list, rotate, configure and delete Transit keys.
//!
//! A Transit key is a CryptoServe context: every change goes through `crate::contexts`, the
//! same code the native admin API calls, so versions, audit rows and caches are shared.
//! Managing keys needs an admin token; reading a key's metadata is also open to service
//! identities allowed to use it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use cryptoserve_store::ContextConfig;

use super::access::{self, key_name};
use super::key_info::{existing, info_reply, refuse_export, requested_definition};
use super::params::Params;
use super::reply::{self, bad_request, Reply};
use crate::state::AppState;

/// Fields `POST keys/:name` takes.
const CREATE_FIELDS: &[&str] = &[
    "type",
    "derived",
    "convergent_encryption",
    "exportable",
    "allow_plaintext_backup",
    "auto_rotate_period",
    "context",
    "key_size",
    "managed_key_name",
    "managed_key_id",
];

/// Fields `POST keys/:name/config` takes.
const CONFIG_FIELDS: &[&str] = &[
    "min_decryption_version",
    "min_encryption_version",
    "deletion_allowed",
    "exportable",
    "allow_plaintext_backup",
    "auto_rotate_period",
];

/// `POST|PUT keys/:name`: creates the key, or answers the existing one unchanged (as Vault
/// does, whatever the request says).
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/keys/{name}",
    tag = "transit",
    operation_id = "vault_key_create",
    description = "Creates the key (a context); an existing key is answered unchanged. Admin token.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    request_body(content = crate::openapi::transit::CreateKeyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(create_reply(state, req, path, body).await)
}

async fn create_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let name = key_name(&path)?;
    let principal = access::admin(&req, &state)?;
    let params = Params::parse(&req, &body)?;
    let warnings: Vec<String> = params
        .unknown_fields_warning(CREATE_FIELDS)
        .into_iter()
        .collect();
    let derived = params.boolean("derived")?.unwrap_or(false);
    let mut definition = requested_definition(&params, derived, "created through the Transit API")?;
    refuse_export(&params)?;
    definition.attributes.auto_rotate_period_secs =
        params.duration_secs("auto_rotate_period")?.unwrap_or(0);
    if let Some(existing) = existing(&state, name.as_str()).await? {
        return info_reply(&state, &req, &existing, &warnings).await;
    }
    let audit = super::audit(&state, &req, &principal, "context.create", name.as_str());
    let record = crate::contexts::create(&state, name.as_str(), definition, audit)
        .await
        .map_err(reply::from_api)?;
    info_reply(&state, &req, &record, &warnings).await
}

/// `GET keys/:name`: 404 `{"errors":[]}` when there is no such key.
#[utoipa::path(
    get,
    path = "/v1/transit/keys/{name}",
    tag = "transit",
    operation_id = "vault_key_read",
    description = "Key information; 404 `{\"errors\":[]}` if there is no such key.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn read(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> actix_web::HttpResponse {
    reply::flatten(read_reply(state, req, path).await)
}

async fn read_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    let name = key_name(&path)?;
    let principal = access::principal(&req, &state)?;
    if !principal.may_use(name.as_str()) {
        return Err(reply::denied());
    }
    match existing(&state, name.as_str()).await? {
        Some(record) => info_reply(&state, &req, &record, &[]).await,
        None => Err(reply::not_found_empty()),
    }
}

/// `LIST keys` or `GET keys?list=true`: sorted names; 404 `{"errors":[]}` when there are none.
#[utoipa::path(
    get,
    path = "/v1/transit/keys",
    tag = "transit",
    operation_id = "vault_key_list",
    description = "Key names, sorted (also the `LIST` verb); 404 `{\"errors\":[]}` when there are none. Admin token.",
    params(("list" = bool, Query, description = "Must be true (a plain GET is 405)")),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> actix_web::HttpResponse {
    reply::flatten(list_reply(state, req).await)
}

async fn list_reply(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let is_get = req.method() == actix_web::http::Method::GET;
    if is_get && !list_requested(req.query_string()) {
        return Err(reply::unsupported_operation());
    }
    access::admin(&req, &state)?;
    let names: Vec<String> = state
        .store
        .list_contexts()
        .await
        .map_err(|error| reply::from_api(error.into()))?
        .into_iter()
        .map(|record| record.name)
        .collect();
    if names.is_empty() {
        return Err(reply::not_found_empty());
    }
    Ok(reply::data(&req, &json!({ "keys": names }), &[]))
}

fn list_requested(query: &str) -> bool {
    query.split('&').any(|pair| {
        matches!(
            pair.split_once('=').unwrap_or((pair, "")),
            ("list", "true" | "1" | "t" | "True" | "TRUE")
        )
    })
}

/// `POST keys/:name/rotate`.
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/keys/{name}/rotate",
    tag = "transit",
    operation_id = "vault_key_rotate",
    description = "Adds a new latest version. Admin token.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> actix_web::HttpResponse {
    reply::flatten(rotate_reply(state, req, path).await)
}

async fn rotate_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    let name = key_name(&path)?;
    let principal = access::admin(&req, &state)?;
    let audit = super::audit(&state, &req, &principal, "context.rotate", name.as_str());
    match crate::contexts::rotate(&state, name.as_str(), audit).await {
        Ok(record) => info_reply(&state, &req, &record, &[]).await,
        Err(crate::error::ApiError::UnknownContext(_)) => Err(bad_request("key not found")),
        Err(error) => Err(reply::from_api(error)),
    }
}

/// `POST keys/:name/config`.
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/keys/{name}/config",
    tag = "transit",
    operation_id = "vault_key_config",
    description = "Version window, deletion and auto-rotation. Admin token.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    request_body(content = crate::openapi::transit::KeyConfigBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn config(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(config_reply(state, req, path, body).await)
}

async fn config_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let name = key_name(&path)?;
    let principal = access::admin(&req, &state)?;
    let params = Params::parse(&req, &body)?;
    let mut warnings: Vec<String> = params
        .unknown_fields_warning(CONFIG_FIELDS)
        .into_iter()
        .collect();
    refuse_export(&params)?;
    let mut min_decryption = params.int("min_decryption_version")?;
    if min_decryption == Some(0) {
        min_decryption = Some(1);
        warnings.push(
            "since Vault 0.3 (prior to the OpenBao fork), transit key numbering starts at 1; \
             forcing minimum to 1"
                .into(),
        );
    }
    let to_i32 = |value: Option<i64>, field: &str| -> Result<Option<i32>, HttpResponse> {
        value
            .map(|v| i32::try_from(v).map_err(|_| bad_request(format!("{field} is out of range"))))
            .transpose()
    };
    let config = ContextConfig {
        min_decryption_version: to_i32(min_decryption, "min_decryption_version")?,
        min_encryption_version: to_i32(
            params.int("min_encryption_version")?,
            "min_encryption_version",
        )?,
        deletion_allowed: params.boolean("deletion_allowed")?,
        auto_rotate_period_secs: params.duration_secs("auto_rotate_period")?,
    };
    let audit = super::audit(&state, &req, &principal, "context.configure", name.as_str());
    match crate::contexts::configure(&state, name.as_str(), config, audit).await {
        Ok(record) => info_reply(&state, &req, &record, &warnings).await,
        Err(crate::error::ApiError::UnknownContext(_)) => Err(bad_request(format!(
            "no existing key named {name} could be found"
        ))),
        Err(error) => Err(reply::from_api(error)),
    }
}

/// `DELETE keys/:name`: 204; only when `deletion_allowed` was set.
#[utoipa::path(
    delete,
    path = "/v1/transit/keys/{name}",
    tag = "transit",
    operation_id = "vault_key_delete",
    description = "Deletes the key if `deletion_allowed`; its ciphertext never decrypts again. Admin token.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    responses(
        (status = 204, description = "Done; empty body"),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> actix_web::HttpResponse {
    reply::flatten(delete_reply(state, req, path).await)
}

async fn delete_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    let name = key_name(&path)?;
    let principal = access::admin(&req, &state)?;
    let audit = super::audit(&state, &req, &principal, "context.delete", name.as_str());
    match crate::contexts::delete(&state, name.as_str(), audit).await {
        Ok(()) => Ok(reply::no_content()),
        Err(crate::error::ApiError::UnknownContext(_)) => Err(bad_request(format!(
            "error deleting policy {name}: could not delete key; not found"
        ))),
        Err(crate::error::ApiError::Conflict(_)) => Err(bad_request(format!(
            "error deleting policy {name}: deletion is not allowed for this key"
        ))),
        Err(error) => Err(reply::from_api(error)),
    }
}

/// `GET export/...`: key material never leaves CryptoServe.
#[utoipa::path(
    get,
    path = "/v1/transit/export/{rest}",
    tag = "transit",
    operation_id = "vault_key_export",
    description = "Refused: CryptoServe never exports key material.",
    params(("rest" = String, Path, description = "`<kind>/<name>[/<version>]`")),
    responses(
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn export(state: web::Data<AppState>, req: HttpRequest) -> actix_web::HttpResponse {
    reply::flatten(export_reply(state, req).await)
}

async fn export_reply(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    access::principal(&req, &state)?;
    Err(bad_request(
        "key export is not supported: CryptoServe never exports key material",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query() {
        assert!(list_requested("list=true"));
        assert!(list_requested("a=b&list=1"));
        assert!(!list_requested(""));
        assert!(!list_requested("list=false"));
    }
}
