//! Fuzzes the Vault-Transit-compatible request bodies (`/v1/<mount>/...`, `/v1/sys/mounts`):
//! the input is parsed as the handlers parse it (`Params::parse`, once as JSON without a
//! `Content-Type` and once labelled as a form), then every field is read the way some
//! endpoint reads it, and the pure per-request checks run: `batch_input` items, the
//! batch-wide `context` rule, key versions, the ciphertext gate against a key's version
//! window, key type and convergence, export refusal, partial-failure status. No input may
//! panic, and no refusal echoes a field's value (each is one short, fixed sentence).
#![no_main]

use actix_web::http::header::CONTENT_TYPE;
use actix_web::test::TestRequest;
use actix_web::HttpRequest;
use cryptoserve_core::{Algorithm, ContextName, ContextSpec, KeyVersion};
use cryptoserve_server::routes::transit::{
    batch_status, check_contexts, ciphertext, decode_base64, key_name, key_version, refuse_export,
    requested_definition, Params, Refusal,
};
use libfuzzer_sys::fuzz_target;

/// Every field name a Transit endpoint reads.
const FIELDS: &[&str] = &[
    "plaintext",
    "ciphertext",
    "context",
    "key_version",
    "associated_data",
    "nonce",
    "type",
    "convergent_encryption",
    "derived",
    "exportable",
    "allow_plaintext_backup",
    "auto_rotate_period",
    "min_decryption_version",
    "min_encryption_version",
    "deletion_allowed",
    "bits",
    "reference",
    "partial_failure_response_code",
];

thread_local! {
    /// A request without a `Content-Type` (the CLI's) and one labelled as a form.
    static REQUESTS: [HttpRequest; 2] = [
        TestRequest::default().to_http_request(),
        TestRequest::default()
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request(),
    ];
}

/// A key at version 3 that refuses versions below 2.
fn spec() -> Option<ContextSpec> {
    let mut spec = ContextSpec::new(ContextName::parse("fuzz").ok()?, Algorithm::Aes256Gcm);
    spec.current_version = KeyVersion::new(3).ok()?;
    spec.min_decryption_version = KeyVersion::new(2).ok()?;
    Some(spec)
}

/// Reads one request (or one batch item) field by field as the endpoints do.
fn read_item(item: &Params, spec: &ContextSpec) {
    let _ = item.unknown_fields_warning(&FIELDS[..7]);
    for name in FIELDS {
        let _ = item.has(name);
        quiet(item.string(name));
        quiet(item.boolean(name));
        quiet(item.int(name));
        quiet(item.duration_secs(name));
        quiet(item.base64(name));
    }
    quiet(key_version(item));
    let _ = refuse_export(item);
    let _ = requested_definition(
        item,
        item.boolean("derived").ok().flatten().unwrap_or(false),
        "",
    );
    if let Ok(Some(text)) = item.string("ciphertext") {
        quiet(ciphertext(spec, &text));
    }
    if let Ok(Some(text)) = item.string("plaintext") {
        quiet(decode_base64(&text));
    }
}

/// A refusal is one short, fixed sentence (naming at most a field or an offset): however
/// long the input, no value is echoed back.
fn quiet<T>(outcome: Result<T, Refusal>) {
    if let Err(refusal) = outcome {
        assert!(
            refusal.0.len() <= 120,
            "refusal echoes input: {}",
            refusal.0
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(spec) = spec() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = key_name(text);
    }
    REQUESTS.with(|requests| {
        for req in requests {
            let Ok(params) = Params::parse(req, data) else {
                continue;
            };
            read_item(&params, &spec);
            if let Ok(Some(items)) = params.batch() {
                let _ = check_contexts(&items);
                for item in &items {
                    read_item(item, &spec);
                }
                let code = params.int("partial_failure_response_code").ok().flatten();
                let _ = batch_status(1, items.len().max(2), code);
            }
        }
    });
});
