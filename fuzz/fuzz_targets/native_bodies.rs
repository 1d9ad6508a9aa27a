//! Fuzzes the native API's request bodies (`/api/v1/crypto/...`, `/api/admin/...`): the input
//! is deserialized into every body type the server accepts, as `web::Json` does, and each
//! body that parses goes through the pure checks its handler runs before any I/O (context
//! name, base64 fields, ciphertext text, data-key size, algorithm, role, rate-limit bounds).
//! The same bytes are read as the two admin query strings, as `web::Query` does. No input may
//! panic.
#![no_main]

use cryptoserve_api::{
    AuditQuery, AuditVerifyRequest, BatchRequest, ConfigureContext, CreateContext, CreateIdentity,
    DataKeyRequest, DecryptItem, DecryptRequest, EncryptItem, EncryptRequest, MinVersion,
    PolicyBody, RevokeToken, RewrapRequest, Role, UsageQuery,
};
use cryptoserve_core::{text, Algorithm, ContextName, DataKeySize};
use cryptoserve_server::routes::admin::validate_rate_limit_policy;
use cryptoserve_server::routes::crypto::{decode_base64, decode_optional, derivation};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn parse<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

/// What every crypto handler checks first: the context name and the derivation context.
fn check_call(context: &str, derivation_context: Option<&str>) {
    let _ = ContextName::parse(context);
    let _ = derivation(derivation_context);
}

fn check_opening(ciphertext: &str, associated_data: Option<&str>) {
    let _ = decode_optional(associated_data, "associated_data");
    let _ = text::decode_any(ciphertext);
}

fuzz_target!(|data: &[u8]| {
    if let Some(body) = parse::<EncryptRequest>(data) {
        check_call(&body.context, body.derivation_context.as_deref());
        let _ = decode_base64(&body.plaintext, "plaintext");
        let _ = decode_optional(body.associated_data.as_deref(), "associated_data");
    }
    if let Some(body) = parse::<DecryptRequest>(data) {
        check_call(&body.context, body.derivation_context.as_deref());
        check_opening(&body.ciphertext, body.associated_data.as_deref());
    }
    if let Some(body) = parse::<RewrapRequest>(data) {
        check_call(&body.context, body.derivation_context.as_deref());
        check_opening(&body.ciphertext, body.associated_data.as_deref());
    }
    if let Some(body) = parse::<DataKeyRequest>(data) {
        check_call(&body.context, body.derivation_context.as_deref());
        let _ = DataKeySize::from_bits(body.bits.unwrap_or(256));
    }
    if let Some(body) = parse::<BatchRequest<EncryptItem>>(data) {
        check_call(&body.context, None);
        for item in &body.items {
            let _ = decode_base64(&item.plaintext, "plaintext");
            let _ = decode_optional(item.associated_data.as_deref(), "associated_data");
        }
    }
    if let Some(body) = parse::<BatchRequest<DecryptItem>>(data) {
        check_call(&body.context, None);
        for item in &body.items {
            check_opening(&item.ciphertext, item.associated_data.as_deref());
        }
    }
    if let Some(body) = parse::<CreateContext>(data) {
        let _ = ContextName::parse(&body.name);
        if let Some(algorithm) = body.algorithm.as_deref() {
            let _ = algorithm.parse::<Algorithm>();
        }
    }
    let _ = parse::<ConfigureContext>(data);
    if let Some(body) = parse::<MinVersion>(data) {
        let _ = i32::try_from(body.version);
    }
    if let Some(body) = parse::<CreateIdentity>(data) {
        let _ = Role::parse(&body.role);
    }
    let _ = parse::<RevokeToken>(data);
    let _ = parse::<AuditVerifyRequest>(data);
    if let Some(body) = parse::<PolicyBody>(data) {
        let _ = validate_rate_limit_policy(body);
    }
    let _ = serde_urlencoded::from_bytes::<UsageQuery>(data);
    let _ = serde_urlencoded::from_bytes::<AuditQuery>(data);
});
