//! The Vault-Transit-compatible API: `/v1/sys/...`, `/v1/auth/token/lookup-self` and
//! `/v1/<mount>/...` (mount `transit` by default, `CRYPTOSERVE_TRANSIT_MOUNT`), so hvac,
//! vaultrs, the `vault`/`bao` CLI and every other Vault client work unchanged.
//!
//! It is a thin layer of request and response shapes over the same service as the native
//! API: a Transit key is a context, admission is `routes::crypto::CryptoCall::begin`, key
//! management is `crate::contexts`, crypto is the core's `Cipher`. Ciphertext is the same
//! key-committing envelope in Vault's text form, `vault:v<N>:<base64>`.
//!
//! - `access.rs`: the token (`X-Vault-Token` or `Authorization: Bearer`), roles as
//!   capabilities, key names.
//! - `params.rs`: bodies as Vault reads them (CLI strings coerced, unknown fields warned,
//!   Go-compatible base64).
//! - `reply.rs`: the eight-field envelope, `{"errors": [...]}`, Vault's status codes.
//! - `keys.rs`: create, read, list, rotate, config, delete; `key_info.rs`: Vault's key-info
//!   object and types, and the upsert encrypt uses.
//! - `crypto.rs` with `items.rs`: encrypt, decrypt, rewrap (single and batch), datakey.
//! - `sys.rs`: health, seal status, leader, mounts, lookup-self.
//!
//! Every response, including errors and 404s for unknown paths under `/v1`, has Vault's
//! shape; `docs/vault-compatibility.md` lists what is supported, refused, or differs.

// Handlers return `Result<_, HttpResponse>` so `?` yields a Vault-shaped error directly. The
// error side is a response built once per failing request; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod access;
mod crypto;
mod items;
mod key_info;
mod keys;
mod params;
mod reply;
mod sys;

pub use reply::PERMISSION_DENIED;
// The pure steps of reading a request, public so the fuzz targets (`fuzz/`) run exactly
// what the handlers run on untrusted input.
pub use access::key_name;
pub use items::{batch_status, check_contexts, ciphertext, key_version};
pub use key_info::{parse_type, refuse_export, requested_definition};
pub use params::{decode_base64, Params, Refusal};

/// The Transit API's part of the API description (paths for the default mount `transit`).
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    paths(
        sys::health,
        sys::seal_status,
        sys::leader,
        sys::mounts,
        sys::mount,
        sys::enable,
        sys::disable,
        sys::lookup_self,
        keys::create,
        keys::read,
        keys::list,
        keys::rotate,
        keys::config,
        keys::delete,
        keys::export,
        crypto::encrypt,
        crypto::decrypt,
        crypto::rewrap,
        crypto::datakey
    ),
    components(schemas(
        crate::openapi::transit::VaultResponse,
        crate::openapi::transit::VaultErrors,
        crate::openapi::transit::VaultBadRequest,
        crate::openapi::transit::CryptoItem
    ))
)]
pub struct TransitApi;

use actix_web::http::Method;
use actix_web::{web, HttpRequest};

use cryptoserve_store::AuditEntry;

use crate::auth::{AdminPrincipal, Principal};
use crate::state::AppState;

/// Vault's `LIST` verb.
fn list_method() -> Method {
    // "LIST" is a valid token, so this never fails; GET is a harmless fallback.
    Method::from_bytes(b"LIST").unwrap_or(Method::GET)
}

/// A route under `/v1` whose other methods answer Vault's 405.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async { reply::unsupported_operation() }))
}

/// Registers the `/v1` routes for `mount`.
pub fn configure(cfg: &mut web::ServiceConfig, mount: &str) {
    let m = format!("/{mount}");
    cfg.service(
        web::scope("/v1")
            .service(
                web::scope(&m)
                    // The hot routes first: actix tries resources in order.
                    .service(
                        resource("/encrypt/{name}")
                            .route(web::post().to(crypto::encrypt))
                            .route(web::put().to(crypto::encrypt)),
                    )
                    .service(
                        resource("/decrypt/{name}")
                            .route(web::post().to(crypto::decrypt))
                            .route(web::put().to(crypto::decrypt)),
                    )
                    .service(
                        resource("/rewrap/{name}")
                            .route(web::post().to(crypto::rewrap))
                            .route(web::put().to(crypto::rewrap)),
                    )
                    .service(
                        resource("/datakey/{kind}/{name}")
                            .route(web::post().to(crypto::datakey))
                            .route(web::put().to(crypto::datakey)),
                    )
                    .service(
                        resource("/keys")
                            .route(web::route().method(list_method()).to(keys::list))
                            .route(web::get().to(keys::list)),
                    )
                    // Vault accepts `LIST keys/` too; the CLI's `GET keys?list=true` has no slash.
                    .service(
                        resource("/keys/").route(web::route().method(list_method()).to(keys::list)),
                    )
                    .service(
                        resource("/keys/{name}")
                            .route(web::get().to(keys::read))
                            .route(web::post().to(keys::create))
                            .route(web::put().to(keys::create))
                            .route(web::delete().to(keys::delete)),
                    )
                    .service(
                        resource("/keys/{name}/rotate")
                            .route(web::post().to(keys::rotate))
                            .route(web::put().to(keys::rotate)),
                    )
                    .service(
                        resource("/keys/{name}/config")
                            .route(web::post().to(keys::config))
                            .route(web::put().to(keys::config)),
                    )
                    .service(resource("/export/{rest:.+}").route(web::get().to(keys::export)))
                    .default_service(web::to(|| async { reply::unsupported_path() })),
            )
            .service(
                resource("/sys/health")
                    .route(web::get().to(sys::health))
                    .route(web::head().to(sys::health)),
            )
            .service(resource("/sys/seal-status").route(web::get().to(sys::seal_status)))
            .service(resource("/sys/leader").route(web::get().to(sys::leader)))
            .service(resource("/sys/mounts").route(web::get().to(sys::mounts)))
            .service(
                resource("/sys/mounts/{path:.+}")
                    .route(web::get().to(sys::mount))
                    .route(web::post().to(sys::enable))
                    .route(web::put().to(sys::enable))
                    .route(web::delete().to(sys::disable)),
            )
            .service(
                resource("/auth/token/lookup-self")
                    .route(web::get().to(sys::lookup_self))
                    .route(web::post().to(sys::lookup_self)),
            )
            .default_service(web::to(no_handler)),
    );
}

/// 404 for a path under `/v1` that names no mount we serve, in Vault's words.
async fn no_handler(req: HttpRequest) -> actix_web::HttpResponse {
    let path = req.path().trim_start_matches("/v1/");
    let shown: String = path.chars().take(128).collect();
    reply::error(
        actix_web::http::StatusCode::NOT_FOUND,
        format!("no handler for route \"{shown}\". route entry not found."),
    )
}

/// The audit entry for a key-management call (the caller is an admin by then).
fn audit(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    action: &str,
    target: &str,
) -> AuditEntry {
    crate::admin_audit::audit_entry(
        state,
        req,
        &AdminPrincipal(principal.clone()),
        action,
        target,
    )
}
