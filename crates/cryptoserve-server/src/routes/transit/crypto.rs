//! `encrypt`, `decrypt`, `rewrap` (single and `batch_input`) and `datakey`.
//!
//! Every request is admitted by the native API's [`CryptoCall::begin`] (authorisation,
//! metadata, rate limits), then runs each item through `items.rs`, counts it in usage and
//! metrics with [`CryptoCall::observe`], and answers in Vault's envelope with the rate-limit
//! headers. Nothing here is a second copy of the hot path: only request and response shapes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use serde_json::{json, Map, Value};

use cryptoserve_core::{go_base64, DataKeySize, KeyRequest};

use super::access::{self, key_name};
use super::items::{self, batch_status, check_contexts};
use super::key_info::upsert;
use super::params::{Params, Refusal};
use super::reply::{self, bad_request, Reply};
use crate::routes::crypto::{CryptoCall, Operation};
use crate::state::AppState;

const ENCRYPT_FIELDS: &[&str] = &[
    "plaintext",
    "context",
    "key_version",
    "associated_data",
    "nonce",
    "type",
    "convergent_encryption",
    "batch_input",
    "partial_failure_response_code",
    "reference",
];
const DECRYPT_FIELDS: &[&str] = &[
    "ciphertext",
    "context",
    "associated_data",
    "nonce",
    "batch_input",
    "partial_failure_response_code",
    "reference",
];
const REWRAP_FIELDS: &[&str] = &[
    "ciphertext",
    "context",
    "key_version",
    "associated_data",
    "nonce",
    "batch_input",
    "reference",
];
const DATAKEY_FIELDS: &[&str] = &["context", "nonce", "bits", "key_version"];

type ItemFn = fn(&AppState, &cryptoserve_core::ContextSpec, &Params) -> ItemResult;
type ItemResult = Result<(Map<String, Value>, usize), Refusal>;

/// `POST|PUT encrypt/:name`; a missing key is created for admins (Vault's upsert).
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/encrypt/{name}",
    tag = "transit",
    operation_id = "vault_encrypt",
    description = "Encrypts (single or `batch_input`); creates a missing key for admin tokens.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    request_body(content = crate::openapi::transit::CryptoBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        (status = "2XX", description = "A batch where some items failed, with `partial_failure_response_code`", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultBatchFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn encrypt(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(encrypt_reply(state, req, path, body).await)
}

async fn encrypt_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    run(&state, &req, &path, &body, Operation::Encrypt).await
}

/// `POST|PUT decrypt/:name`.
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/decrypt/{name}",
    tag = "transit",
    operation_id = "vault_decrypt",
    description = "Decrypts `vault:v<N>:` (or `cs1:`) ciphertext, single or `batch_input`.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    request_body(content = crate::openapi::transit::CryptoBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        (status = "2XX", description = "A batch where some items failed, with `partial_failure_response_code`", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultBatchFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn decrypt(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(decrypt_reply(state, req, path, body).await)
}

async fn decrypt_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    run(&state, &req, &path, &body, Operation::Decrypt).await
}

/// `POST|PUT rewrap/:name`.
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/rewrap/{name}",
    tag = "transit",
    operation_id = "vault_rewrap",
    description = "Re-encrypts under the latest (or `key_version`) without revealing the plaintext; a batch answers 200 whatever its items did.",
    params(("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    request_body(content = crate::openapi::transit::CryptoBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn rewrap(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(rewrap_reply(state, req, path, body).await)
}

async fn rewrap_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    run(&state, &req, &path, &body, Operation::Rewrap).await
}

async fn run(
    state: &AppState,
    req: &HttpRequest,
    raw_name: &str,
    body: &[u8],
    operation: Operation,
) -> Reply {
    let name = key_name(raw_name)?;
    let principal = access::principal(req, state)?;
    let params = Params::parse(req, body)?;
    let (known, item_fn): (&[&str], ItemFn) = match operation {
        Operation::Encrypt => (ENCRYPT_FIELDS, items::encrypt),
        Operation::Decrypt => (DECRYPT_FIELDS, items::decrypt),
        _ => (REWRAP_FIELDS, items::rewrap),
    };
    let warnings: Vec<String> = params.unknown_fields_warning(known).into_iter().collect();
    let batch = params.batch()?;
    let items = match &batch {
        Some(items) => {
            if items.is_empty() {
                return Err(bad_request("missing batch input to process"));
            }
            let max = state.settings.max_batch_items;
            if items.len() > max {
                return Err(bad_request(format!(
                    "batch_input holds {} items; at most {max} are allowed per request",
                    items.len()
                )));
            }
            check_contexts(items)?;
            items.as_slice()
        }
        None => std::slice::from_ref(&params),
    };
    if operation == Operation::Encrypt {
        if batch.is_none() && !params.has("plaintext") {
            return Err(bad_request("missing plaintext to encrypt"));
        }
        upsert(
            state,
            req,
            &principal,
            name.as_str(),
            &params,
            items[0].has("context"),
        )
        .await?;
    }
    let cost = u32::try_from(items.len()).unwrap_or(u32::MAX);
    let mut call = CryptoCall::begin(state, req, &principal, name.as_str(), cost)
        .await
        .map_err(reply::from_api)?;
    if operation != Operation::Encrypt {
        for item in items {
            if let Ok(Some(text)) = item.string("ciphertext") {
                call.refresh_for(state, &text).await;
            }
        }
    }
    let spec = &call.entry.spec;
    let mut results = Vec::with_capacity(items.len());
    let mut failed = 0;
    for item in items {
        let outcome = item_fn(state, spec, item);
        call.observe(
            state,
            operation,
            outcome.is_ok(),
            outcome.as_ref().map_or(0, |(_, bytes)| *bytes),
        );
        if outcome.is_err() {
            failed += 1;
        }
        results.push(outcome);
    }
    if batch.is_none() {
        return match results.pop() {
            Some(Ok((fields, _))) => Ok(reply::envelope_into(
                call.ok(),
                req,
                &Value::Object(fields),
                &warnings,
            )),
            Some(Err(refusal)) => Err(refusal.into()),
            None => Err(bad_request("missing input")),
        };
    }
    let status = match operation {
        // Vault answers a rewrap batch 200 whatever its items did.
        Operation::Rewrap => StatusCode::OK,
        _ => batch_status(
            failed,
            items.len(),
            params.int("partial_failure_response_code")?,
        ),
    };
    let batch_results: Vec<Value> = results
        .into_iter()
        .zip(items)
        .map(|(outcome, item)| {
            let mut fields = match outcome {
                Ok((fields, _)) => fields,
                Err(refusal) => {
                    let mut fields = Map::new();
                    if operation == Operation::Decrypt {
                        fields.insert("plaintext".into(), json!(""));
                    }
                    fields.insert("error".into(), json!(refusal.0));
                    fields
                }
            };
            let reference = item.string("reference").ok().flatten().unwrap_or_default();
            fields.insert("reference".into(), json!(reference));
            Value::Object(fields)
        })
        .collect();
    let mut builder = call.ok();
    builder.status(status);
    Ok(reply::envelope_into(
        builder,
        req,
        &json!({ "batch_results": batch_results }),
        &warnings,
    ))
}

/// `POST|PUT datakey/{plaintext|wrapped}/:name`: a fresh random key sealed under the named
/// key; `plaintext` also returns the key itself.
#[utoipa::path(
    method(post, put),
    path = "/v1/transit/datakey/{kind}/{name}",
    tag = "transit",
    operation_id = "vault_datakey",
    description = "A fresh data key sealed under the key; `plaintext` also returns the key.",
    params(("kind" = String, Path, description = "`plaintext` or `wrapped`"), ("name" = String, Path, description = "Key name (a context name): 1-64 of `[A-Za-z0-9._-]`, starting and ending alphanumeric or `_`", pattern = "^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9_])?$")),
    request_body(content = crate::openapi::transit::DataKeyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The envelope; `data` is the result", body = crate::openapi::transit::VaultResponse),
        crate::openapi::transit::VaultFailures,
    ),
    security(("vault_token" = []), ("bearer" = []))
)]
pub async fn datakey(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    reply::flatten(datakey_reply(state, req, path, body).await)
}

async fn datakey_reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Reply {
    let (kind, raw_name) = path.into_inner();
    let name = key_name(&raw_name)?;
    let principal = access::principal(&req, &state)?;
    let include_plaintext = match kind.as_str() {
        "plaintext" => true,
        "wrapped" => false,
        _ => {
            return Err(bad_request(
                "Invalid path, must be 'plaintext' or 'wrapped'",
            ))
        }
    };
    let params = Params::parse(&req, &body)?;
    let warnings: Vec<String> = params
        .unknown_fields_warning(DATAKEY_FIELDS)
        .into_iter()
        .collect();
    let bits = params.int("bits")?.unwrap_or(256);
    let size = u32::try_from(bits)
        .ok()
        .and_then(|bits| DataKeySize::from_bits(bits).ok())
        .ok_or_else(|| bad_request("invalid bit length"))?;
    let call = CryptoCall::begin(&state, &req, &principal, name.as_str(), 1)
        .await
        .map_err(reply::from_api)?;
    let spec = &call.entry.spec;
    let context = params.base64("context")?;
    let key = KeyRequest {
        version: items::key_version(&params)?,
        derivation: if spec.derived {
            context.as_deref()
        } else {
            None
        },
    };
    let data_key = match state.cipher.generate_data_key_with(spec, key, size) {
        Ok(data_key) => data_key,
        Err(error) => {
            call.observe(&state, Operation::Datakey, false, 0);
            return Err(bad_request(error.to_string()));
        }
    };
    call.observe(&state, Operation::Datakey, true, data_key.plaintext.len());
    let mut data = json!({
        "ciphertext": data_key.wrapped.to_vault_text(),
        "key_version": data_key.wrapped.version.get(),
    });
    if include_plaintext {
        data["plaintext"] = json!(go_base64::encode(&data_key.plaintext));
    }
    Ok(reply::envelope_into(call.ok(), &req, &data, &warnings))
}
