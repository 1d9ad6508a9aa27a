//! The text form of envelopes for JSON APIs: `cs1:v<version>:<base64url, no padding>`.
//!
//! Parsing is strict (exact prefix, canonical decimal and base64url, prefix version equal to the
//! envelope's) and every failure is [`CoreError::DecryptionFailed`].
//!
//! The same envelope may also arrive in Vault's `vault:v<version>:` form
//! ([`crate::vault_text`]); [`decode_any`] and [`claimed_version`] accept both, so the native
//! API and the Transit API read each other's ciphertext.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::context::KeyVersion;
use crate::envelope;
use crate::error::{CoreError, Result};
use crate::vault_text;

const PREFIX: &str = "cs1:v";

/// Renders an envelope as text.
pub fn encode(envelope: &[u8], version: KeyVersion) -> String {
    let payload = base64::encoded_len(envelope.len(), false).unwrap_or(0);
    let mut out = Vec::with_capacity(PREFIX.len() + 11 + payload);
    out.extend_from_slice(PREFIX.as_bytes());
    // `u32`'s Display without the formatting machinery.
    out.extend_from_slice(itoa::Buffer::new().format(version.get()).as_bytes());
    out.push(b':');
    // Into the exact space with one `encode_slice`: `encode_string` goes through a chunked
    // writer that costs about twice as much for an envelope this short.
    let at = out.len();
    out.resize(at + payload, 0);
    let written = URL_SAFE_NO_PAD
        .encode_slice(envelope, &mut out[at..])
        .unwrap_or(0);
    out.truncate(at + written);
    // ASCII by construction, so this cannot fail; the fallback keeps the function total.
    String::from_utf8(out).unwrap_or_default()
}

/// Parses the text form back into envelope bytes.
pub fn decode(text: &str) -> Result<Vec<u8>> {
    let fail = || CoreError::DecryptionFailed;
    let rest = text.strip_prefix(PREFIX).ok_or_else(fail)?;
    let (version_text, payload) = rest.split_once(':').ok_or_else(fail)?;
    let canonical_decimal = !version_text.is_empty()
        && version_text.len() <= 10
        && version_text.bytes().all(|b| b.is_ascii_digit())
        && !version_text.starts_with('0');
    if !canonical_decimal {
        return Err(fail());
    }
    let version: u32 = version_text.parse().map_err(|_| fail())?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| fail())?;
    let parsed = envelope::parse(&bytes)?;
    if parsed.header.version.get() != version {
        return Err(fail());
    }
    Ok(bytes)
}

/// Parses either text form, `cs1:` or `vault:`, into envelope bytes. Every failure is
/// [`CoreError::DecryptionFailed`], whichever form was sent.
pub fn decode_any(text: &str) -> Result<Vec<u8>> {
    if text.starts_with("vault:") {
        vault_text::decode(text).map_err(|_| CoreError::DecryptionFailed)
    } else {
        decode(text)
    }
}

/// The key version a text ciphertext claims, in either form, without decoding it (for routing
/// and display).
pub fn claimed_version(text: &str) -> Option<KeyVersion> {
    if let Some(version) = vault_text::claimed_version(text) {
        return Some(version);
    }
    let rest = text.strip_prefix(PREFIX)?;
    let (version_text, _) = rest.split_once(':')?;
    KeyVersion::new(version_text.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_decode_to_the_same_envelope_and_version() {
        let mut envelope = [0u8; envelope::MIN_LEN];
        envelope[..2].copy_from_slice(&envelope::MAGIC);
        envelope[2] = envelope::FORMAT_VERSION;
        envelope[3] = 1;
        envelope[12..16].copy_from_slice(&5u32.to_be_bytes());
        let version = KeyVersion::new(5).unwrap();
        let native = encode(&envelope, version);
        let vault = vault_text::encode(&envelope, version);
        assert_eq!(decode_any(&native).unwrap(), envelope);
        assert_eq!(decode_any(&vault).unwrap(), envelope);
        assert_eq!(claimed_version(&native), Some(version));
        assert_eq!(claimed_version(&vault), Some(version));
        assert!(
            decode(&vault).is_err(),
            "the strict cs1 decoder stays cs1-only"
        );
        for bad in ["vault:v5:", "vault:", "cs1:v5:", "", "vault:v5:!!!!"] {
            assert_eq!(decode_any(bad).unwrap_err(), CoreError::DecryptionFailed);
        }
        assert_eq!(claimed_version("vault:vx:abcd"), None);
    }

    #[test]
    fn encode_writes_prefix_decimal_version_and_unpadded_base64url() {
        for version in [1, 9, 10, 4_096, u32::MAX] {
            for len in [0, 1, 2, 3, 64, 301] {
                let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
                let expected = format!("cs1:v{version}:{}", URL_SAFE_NO_PAD.encode(&bytes));
                assert_eq!(encode(&bytes, KeyVersion::new(version).unwrap()), expected);
            }
        }
    }
}
