//! The text form of envelopes for JSON APIs: `cs1:v<version>:<base64url, no padding>`.
//!
//! Parsing is strict (exact prefix, canonical decimal and base64url, prefix version equal to the
//! envelope's) and every failure is [`CoreError::DecryptionFailed`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::context::KeyVersion;
use crate::envelope;
use crate::error::{CoreError, Result};

const PREFIX: &str = "cs1:v";

/// Renders an envelope as text.
pub fn encode(envelope: &[u8], version: KeyVersion) -> String {
    let mut out = String::with_capacity(PREFIX.len() + 11 + envelope.len().div_ceil(3) * 4);
    out.push_str(PREFIX);
    out.push_str(&version.get().to_string());
    out.push(':');
    URL_SAFE_NO_PAD.encode_string(envelope, &mut out);
    out
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

/// The key version a text ciphertext claims, without decoding it (for routing and display).
pub fn claimed_version(text: &str) -> Option<KeyVersion> {
    let rest = text.strip_prefix(PREFIX)?;
    let (version_text, _) = rest.split_once(':')?;
    KeyVersion::new(version_text.parse().ok()?).ok()
}
