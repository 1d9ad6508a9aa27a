//! The `sys/` and `auth/token/` endpoints Vault clients call around Transit: health and seal
//! status (`bao status`, hvac `is_sealed`), the mount table (`bao secrets list`), enabling
//! the engine (setup scripts run `bao secrets enable transit`), and `lookup-self` (hvac
//! `is_authenticated`).
//!
//! CryptoServe is never sealed and serves Transit on every instance (there is no standby), so
//! these answer what a healthy, unsealed, active Vault would, with CryptoServe's own version
//! and instance names.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest};
use serde_json::{json, Map, Value};

use super::access;
use super::params::Params;
use super::reply::{self, bad_request, Reply};
use crate::state::AppState;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn cluster_name(state: &AppState) -> String {
    format!("cryptoserve-{}", state.instance_id)
}

/// A stable id for this deployment's "cluster": derived from the master key id, which every
/// instance of one deployment shares.
fn cluster_id(state: &AppState) -> String {
    let id = state.cipher.keyring().active().id().to_string();
    let hex: String = id.chars().chain(std::iter::repeat('0')).take(32).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `GET|HEAD sys/health` (no token): 200 while serving, 503 while draining for shutdown.
#[utoipa::path(
    method(get, head),
    path = "/v1/sys/health",
    tag = "transit",
    operation_id = "vault_sys_health",
    description = "Health as Vault reports it (never sealed, never standby); no token. 503 while draining for shutdown.",
    responses(
        (status = 200, description = "Serving (HEAD: empty body)", body = Object),
        crate::openapi::transit::VaultFailures,
    ),
    security(())
)]
pub async fn health(state: web::Data<AppState>, req: HttpRequest) -> actix_web::HttpResponse {
    reply::flatten(health_reply(state, req).await)
}

async fn health_reply(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let draining = state.lifecycle.is_draining();
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut builder = reply::builder(status);
    if req.method() == Method::HEAD {
        return Ok(builder.finish());
    }
    let body = json!({
        "initialized": true,
        "sealed": false,
        "standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": chrono::Utc::now().timestamp(),
        "version": VERSION,
        "cluster_name": cluster_name(&state),
        "cluster_id": cluster_id(&state),
    });
    Ok(builder.body(body.to_string()))
}

/// `GET sys/seal-status` (no token).
#[utoipa::path(
    get,
    path = "/v1/sys/seal-status",
    tag = "transit",
    operation_id = "vault_sys_seal_status",
    description = "Seal status (always unsealed); no token.",
    responses(
        (status = 200, description = "Unsealed", body = Object),
        crate::openapi::transit::VaultFailures,
    ),
    security(())
)]
pub async fn seal_status(state: web::Data<AppState>) -> actix_web::HttpResponse {
    reply::flatten(seal_status_reply(state).await)
}

async fn seal_status_reply(state: web::Data<AppState>) -> Reply {
    let body = json!({
        "type": "shamir",
        "initialized": true,
        "sealed": false,
        "t": 1,
        "n": 1,
        "progress": 0,
        "nonce": "",
        "recovery_seal": false,
        "version": VERSION,
        "commit_date": "",
        "migration": false,
        "cluster_name": cluster_name(&state),
        "cluster_id": cluster_id(&state),
        "storage_type": "cryptoserve",
    });
    Ok(reply::builder(StatusCode::OK).body(body.to_string()))
}

/// `GET sys/leader` (no token): every instance is active, none is a leader.
#[utoipa::path(
    get,
    path = "/v1/sys/leader",
    tag = "transit",
    operation_id = "vault_sys_leader",
    description = "Every instance serves Transit: no HA leader; no token.",
    responses(
        (status = 200, description = "`{\"ha_enabled\": false}`", body = Object),
        crate::openapi::transit::VaultFailures,
    ),
    security(())
)]
pub async fn leader() -> actix_web::HttpResponse {
    reply::flatten(leader_reply().await)
}

async fn leader_reply() -> Reply {
    Ok(reply::builder(StatusCode::OK).body(json!({ "ha_enabled": false }).to_string()))
}

fn mount_entry(state: &AppState) -> Value {
    json!({
        "accessor": format!("transit_{}", &cluster_id(state)[..8]),
        "config": {"default_lease_ttl": 0, "force_no_cache": false, "max_lease_ttl": 0},
        "deprecation_status": "supported",
        "description": "CryptoServe Transit-compatible encryption",
        "external_entropy_access": false,
        "local": false,
        "options": null,
        "plugin_version": "",
        "running_plugin_version": format!("cryptoserve-{VERSION}"),
        "running_sha256": "",
        "seal_wrap": false,
        "type": "transit",
        "uuid": cluster_id(state),
    })
}

/// Vault repeats some `sys/` data at the top level beside the envelope; clients read either.
fn flat_with_envelope(req: &HttpRequest, data: &Map<String, Value>) -> actix_web::HttpResponse {
    let mut merged = data.clone();
    for (name, value) in [
        ("request_id", json!(reply::request_id(req))),
        ("lease_id", json!("")),
        ("renewable", json!(false)),
        ("lease_duration", json!(0)),
        ("data", Value::Object(data.clone())),
        ("wrap_info", Value::Null),
        ("warnings", Value::Null),
        ("auth", Value::Null),
    ] {
        merged.insert(name.to_owned(), value);
    }
    reply::builder(StatusCode::OK).body(Value::Object(merged).to_string())
}

/// `GET sys/mounts` (any valid token): the Transit mount only.
#[utoipa::path(
    get,
    path = "/v1/sys/mounts",
    tag = "transit",
    operation_id = "vault_sys_mounts",
    description = "The mount table: the Transit mount only (at the top level and in `data`).",
    responses(
        (status = 200, description = "Mounts", body = Object),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn mounts(state: web::Data<AppState>, req: HttpRequest) -> actix_web::HttpResponse {
    reply::flatten(mounts_reply(state, req).await)
}

async fn mounts_reply(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    access::principal(&req, &state)?;
    let mut data = Map::new();
    data.insert(
        format!("{}/", state.settings.transit_mount),
        mount_entry(&state),
    );
    Ok(flat_with_envelope(&req, &data))
}

/// `GET sys/mounts/:path` and `.../tune`: the Transit mount's configuration.
#[utoipa::path(
    get,
    path = "/v1/sys/mounts/{path}",
    tag = "transit",
    operation_id = "vault_sys_mount_read",
    description = "The Transit mount's configuration (`{path}` = the mount, or `<mount>/tune`).",
    params(("path" = String, Path, description = "Mount path")),
    responses(
        (status = 200, description = "The mount", body = Object),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn mount(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> actix_web::HttpResponse {
    reply::flatten(mount_reply(state, req, path).await)
}

async fn mount_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Reply {
    access::principal(&req, &state)?;
    let path = path.into_inner();
    let (mount, tune) = match path.trim_end_matches('/').strip_suffix("/tune") {
        Some(mount) => (mount.to_owned(), true),
        None => (path.trim_end_matches('/').to_owned(), false),
    };
    if mount != state.settings.transit_mount {
        return Err(bad_request(format!("no mount at {mount}/")));
    }
    let data = if tune {
        json!({"default_lease_ttl": 0, "description": "", "force_no_cache": false, "max_lease_ttl": 0})
    } else {
        mount_entry(&state)
    };
    let data = data.as_object().cloned().unwrap_or_default();
    Ok(flat_with_envelope(&req, &data))
}

/// `POST|PUT sys/mounts/:path`: enabling `transit` at the configured mount succeeds (204, so
/// setup scripts written for Vault run unchanged); anything else is a clear 400.
#[utoipa::path(
    method(post, put),
    path = "/v1/sys/mounts/{path}",
    tag = "transit",
    operation_id = "vault_sys_mount_enable",
    description = "Enabling `transit` at the configured mount succeeds (it is always there); anything else is refused. Admin token.",
    params(("path" = String, Path, description = "Mount path")),
    request_body(content = crate::openapi::transit::EnableMountBody, content_type = "application/json"),
    responses(
        (status = 204, description = "Done; empty body"),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(enable_reply(state, req, path, body).await)
}

async fn enable_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    access::admin(&req, &state)?;
    let params = Params::parse(&req, &body)?;
    let engine = params.string("type")?.unwrap_or_default();
    let mount = path.trim_end_matches('/');
    let configured = &state.settings.transit_mount;
    if engine != "transit" {
        return Err(bad_request(
            "CryptoServe provides only the transit secrets engine",
        ));
    }
    if mount != configured {
        return Err(bad_request(format!(
            "CryptoServe serves transit at {configured}/ only (set CRYPTOSERVE_TRANSIT_MOUNT \
             to change it)"
        )));
    }
    Ok(reply::no_content())
}

/// `DELETE sys/mounts/:path`: refused; in Vault it would destroy every key of the mount.
#[utoipa::path(
    delete,
    path = "/v1/sys/mounts/{path}",
    tag = "transit",
    operation_id = "vault_sys_mount_disable",
    description = "Refused: disabling the mount would destroy every key. Admin token.",
    params(("path" = String, Path, description = "Mount path")),
    responses(
        (status = 204, description = "Done; empty body"),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn disable(state: web::Data<AppState>, req: HttpRequest) -> actix_web::HttpResponse {
    reply::flatten(disable_reply(state, req).await)
}

async fn disable_reply(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    access::admin(&req, &state)?;
    Err(bad_request(
        "the transit mount cannot be disabled in CryptoServe; delete keys individually",
    ))
}

/// `GET auth/token/lookup-self`: the caller's identity as Vault token information.
#[utoipa::path(
    method(get, post),
    path = "/v1/auth/token/lookup-self",
    tag = "transit",
    operation_id = "vault_token_lookup_self",
    description = "The calling identity as Vault token information (the token itself is not echoed).",
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn lookup_self(state: web::Data<AppState>, req: HttpRequest) -> actix_web::HttpResponse {
    reply::flatten(lookup_self_reply(state, req).await)
}

async fn lookup_self_reply(state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let principal = access::principal(&req, &state)?;
    let claims = &principal.0;
    let now = chrono::Utc::now().timestamp();
    let rfc3339 = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let policy = if principal.is_admin() {
        "cryptoserve-admin"
    } else {
        "cryptoserve-service"
    };
    let data = json!({
        "accessor": claims.jti,
        "creation_time": claims.iat,
        "creation_ttl": (claims.exp - claims.iat).max(0),
        "display_name": claims.name,
        "entity_id": claims.sub,
        "expire_time": rfc3339(claims.exp),
        "explicit_max_ttl": 0,
        // The token itself is never echoed back.
        "id": "",
        "issue_time": rfc3339(claims.iat),
        "meta": {
            "identity_id": claims.sub,
            "role": claims.role.as_str(),
            "contexts": claims.contexts.join(","),
        },
        "num_uses": 0,
        "orphan": true,
        "path": "auth/cryptoserve/token",
        "policies": [policy],
        "renewable": false,
        "ttl": (claims.exp - now).max(0),
        "type": "service",
    });
    Ok(reply::data(&req, &data, &[]))
}
