//! What single requests and `batch_input` items share: reading an item's fields, running it
//! through the core, and the status rules of batches.
//!
//! Each operation is written once, per item; a single request is a batch of one whose
//! failure becomes the response's error. The core's messages for version and derivation
//! refusals are already Vault's wording; authentication failures get Vault's per-algorithm
//! text, which says no more than "it did not authenticate".

use actix_web::http::StatusCode;
use serde_json::{json, Map, Value};

use cryptoserve_core::{
    text, vault_text, Algorithm, ContextSpec, CoreError, KeyRequest, KeyVersion, Sealed,
};

use super::params::{Params, Refusal};
use crate::state::AppState;

/// The text Vault gives for a ciphertext that does not authenticate.
pub fn authentication_failed(algorithm: Algorithm) -> Refusal {
    Refusal(
        match algorithm {
            Algorithm::Aes256Gcm => "cipher: message authentication failed",
            Algorithm::ChaCha20Poly1305 => "chacha20poly1305: message authentication failed",
        }
        .into(),
    )
}

fn core_refusal(error: CoreError, algorithm: Algorithm) -> Refusal {
    match error {
        CoreError::DecryptionFailed => authentication_failed(algorithm),
        other => Refusal(other.to_string()),
    }
}

/// `key_version`: absent or 0 means the latest.
pub fn key_version(item: &Params) -> Result<Option<KeyVersion>, Refusal> {
    match item.int("key_version")? {
        None | Some(0) => Ok(None),
        Some(n) => u32::try_from(n)
            .ok()
            .and_then(|n| KeyVersion::new(n).ok())
            .map(Some)
            .ok_or_else(|| Refusal("no such key version".into())),
    }
}

/// Decodes `vault:v<N>:...` (or our `cs1:` form) into envelope bytes and the version it
/// claims, checked against the key's version window.
pub fn ciphertext(spec: &ContextSpec, text_form: &str) -> Result<Vec<u8>, Refusal> {
    let vault = text_form.starts_with("vault:");
    if !vault && !text_form.starts_with("cs1:") {
        return Err(Refusal("invalid ciphertext: no prefix".into()));
    }
    // The version window is checked on the claimed version first, as Vault does, so a
    // too-new or retired version is named as such.
    let claimed = if vault {
        vault_text::claimed_version(text_form)
    } else {
        text::claimed_version(text_form)
    };
    if let Some(version) = claimed {
        if version > spec.current_version {
            return Err(Refusal("invalid ciphertext: version is too new".into()));
        }
        if version < spec.min_decryption_version {
            return Err(Refusal(
                "ciphertext or signature version is disallowed by policy (too old)".into(),
            ));
        }
    }
    if vault {
        vault_text::decode(text_form).map_err(|e| Refusal(e.to_string()))
    } else {
        text::decode(text_form).map_err(|_| Refusal("invalid ciphertext length".into()))
    }
}

/// The item's `context` when the key is derived (ignored otherwise, as Vault does).
fn derivation(spec: &ContextSpec, item: &Params) -> Result<Option<Vec<u8>>, Refusal> {
    let context = item.base64("context")?;
    Ok(if spec.derived { context } else { None })
}

fn sealed_fields(sealed: &Sealed) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("ciphertext".into(), json!(sealed.to_vault_text()));
    out.insert("key_version".into(), json!(sealed.version.get()));
    out
}

/// Encrypts one item: `{ciphertext, key_version}` and the plaintext's length.
pub fn encrypt(
    state: &AppState,
    spec: &ContextSpec,
    item: &Params,
) -> Result<(Map<String, Value>, usize), Refusal> {
    let plaintext = item
        .string("plaintext")?
        .ok_or_else(|| Refusal("missing plaintext to encrypt".into()))?;
    let plaintext = zeroize::Zeroizing::new(super::params::decode_base64(&plaintext)?);
    let context = derivation(spec, item)?;
    let ad = item.base64("associated_data")?.unwrap_or_default();
    let version = key_version(item)?;
    let key = KeyRequest {
        version,
        derivation: context.as_deref(),
    };
    let sealed = state
        .cipher
        .seal_with(spec, key, &plaintext, &ad)
        .map_err(|e| core_refusal(e, spec.algorithm))?;
    Ok((sealed_fields(&sealed), plaintext.len()))
}

/// What decrypt and rewrap read from an item: the ciphertext text, the derivation context
/// and the associated data (the text is decoded with [`ciphertext`] afterwards, so rewrap
/// checks its `key_version` first, as before).
struct Opening {
    text_form: String,
    context: Option<Vec<u8>>,
    ad: Vec<u8>,
}

impl Opening {
    fn read(spec: &ContextSpec, item: &Params, missing: &str) -> Result<Self, Refusal> {
        let text_form = item
            .string("ciphertext")?
            .ok_or_else(|| Refusal(missing.into()))?;
        let context = derivation(spec, item)?;
        let ad = item.base64("associated_data")?.unwrap_or_default();
        Ok(Self {
            text_form,
            context,
            ad,
        })
    }
}

/// Decrypts one item: `{plaintext}` and its length.
pub fn decrypt(
    state: &AppState,
    spec: &ContextSpec,
    item: &Params,
) -> Result<(Map<String, Value>, usize), Refusal> {
    let input = Opening::read(spec, item, "missing ciphertext to decrypt")?;
    let envelope = ciphertext(spec, &input.text_form)?;
    let plaintext = zeroize::Zeroizing::new(
        state
            .cipher
            .open_with(spec, input.context.as_deref(), &envelope, &input.ad)
            .map_err(|e| core_refusal(e, spec.algorithm))?,
    );
    let mut out = Map::new();
    out.insert(
        "plaintext".into(),
        json!(cryptoserve_core::go_base64::encode(&plaintext)),
    );
    Ok((out, plaintext.len()))
}

/// Rewraps one item under `key_version` (default: latest): `{ciphertext, key_version}`.
pub fn rewrap(
    state: &AppState,
    spec: &ContextSpec,
    item: &Params,
) -> Result<(Map<String, Value>, usize), Refusal> {
    let input = Opening::read(spec, item, "missing ciphertext to rewrap")?;
    let target = key_version(item)?;
    let envelope = ciphertext(spec, &input.text_form)?;
    let sealed = state
        .cipher
        .rewrap_with(spec, input.context.as_deref(), &envelope, &input.ad, target)
        .map_err(|e| core_refusal(e, spec.algorithm))?;
    Ok((sealed_fields(&sealed), 0))
}

/// Refuses a batch whose items disagree on carrying a `context`.
pub fn check_contexts(items: &[Params]) -> Result<(), Refusal> {
    let with = items.iter().filter(|item| item.has("context")).count();
    if with != 0 && with != items.len() {
        return Err(Refusal(
            "context should be set either in all the request blocks or in none".into(),
        ));
    }
    Ok(())
}

/// The status of an encrypt or decrypt batch: 200 when every item succeeded; 400 when every
/// item failed; otherwise `partial_failure_response_code` if the request set one, else 400.
pub fn batch_status(failed: usize, total: usize, partial_code: Option<i64>) -> StatusCode {
    if failed == 0 {
        return StatusCode::OK;
    }
    if failed == total {
        return StatusCode::BAD_REQUEST;
    }
    partial_code
        .and_then(|code| u16::try_from(code).ok())
        // Only success codes: a client asking for 207 (or 200) gets it; anything else is 400.
        .filter(|code| (200..300).contains(code))
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_statuses() {
        assert_eq!(batch_status(0, 3, None), StatusCode::OK);
        assert_eq!(batch_status(1, 3, None), StatusCode::BAD_REQUEST);
        assert_eq!(batch_status(1, 3, Some(207)), StatusCode::MULTI_STATUS);
        assert_eq!(batch_status(3, 3, Some(207)), StatusCode::BAD_REQUEST);
        assert_eq!(batch_status(1, 3, Some(99)), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn ciphertext_prefixes_and_versions() {
        let spec = ContextSpec::new(
            cryptoserve_core::ContextName::parse("k").unwrap(),
            Algorithm::Aes256Gcm,
        );
        for (text, message) in [
            ("foo", "invalid ciphertext: no prefix"),
            (
                "vault:vX:AAAA",
                "invalid ciphertext: version number could not be decoded",
            ),
            (
                "vault:v1:!!!!",
                "invalid ciphertext: could not decode base64",
            ),
            ("vault:v1:AAAA", "invalid ciphertext length"),
        ] {
            assert_eq!(ciphertext(&spec, text).unwrap_err().0, message, "{text}");
        }
    }
}
