//! The Vault Transit text form of envelopes: `vault:v<version>:<standard base64, padded>`.
//!
//! Clients written for Vault Transit parse and route on this shape (the prefix and the
//! version), so the Transit-compatible API hands ciphertext out in it. The payload is the whole
//! CryptoServe envelope, not Vault's nonce-and-ciphertext, so only the wrapping is Vault's: the
//! bytes are exactly those of the `cs1:` form. Decoding follows Vault: the base64 is read as Go
//! reads it ([`crate::go_base64`]) and the errors carry Vault's messages.

use crate::context::KeyVersion;
use crate::envelope;
use crate::go_base64;

const PREFIX: &str = "vault:";

/// Why a `vault:` text is unusable, with Vault's messages so Transit clients see familiar
/// errors. Unlike [`crate::CoreError::DecryptionFailed`] these say nothing about keys: they
/// are about the text's shape only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultTextError {
    /// The text does not start with `vault:`.
    #[error("invalid ciphertext: no prefix")]
    NoPrefix,
    /// The `v<version>:` part is missing or not a decimal version ≥ 1.
    #[error("invalid ciphertext: version number could not be decoded")]
    BadVersion,
    /// The payload is not base64 as Go's `StdEncoding` reads it.
    #[error("invalid ciphertext: could not decode base64")]
    BadBase64,
    /// The payload decodes, but not to an envelope of the version the prefix claims.
    #[error("invalid ciphertext length")]
    BadLength,
}

/// Renders an envelope in the Vault text form.
pub fn encode(envelope: &[u8], version: KeyVersion) -> String {
    let payload = go_base64::encode(envelope);
    let mut out = String::with_capacity(PREFIX.len() + 12 + payload.len());
    out.push_str(PREFIX);
    out.push('v');
    out.push_str(&version.get().to_string());
    out.push(':');
    out.push_str(&payload);
    out
}

/// Parses the Vault text form back into envelope bytes. Never panics.
pub fn decode(text: &str) -> Result<Vec<u8>, VaultTextError> {
    let rest = text.strip_prefix(PREFIX).ok_or(VaultTextError::NoPrefix)?;
    let (version, payload) = split_version(rest).ok_or(VaultTextError::BadVersion)?;
    let bytes = go_base64::decode(payload).map_err(|_| VaultTextError::BadBase64)?;
    let parsed = envelope::parse(&bytes).map_err(|_| VaultTextError::BadLength)?;
    if parsed.header.version != version {
        return Err(VaultTextError::BadLength);
    }
    Ok(bytes)
}

/// The key version a Vault text ciphertext claims, without decoding it (for routing and
/// display, as Vault's `min_decryption_version` checks do).
pub fn claimed_version(text: &str) -> Option<KeyVersion> {
    split_version(text.strip_prefix(PREFIX)?).map(|(version, _)| version)
}

/// Splits `v<version>:<payload>`; the version must be canonical decimal (no sign, no leading
/// zero) and at least 1.
fn split_version(rest: &str) -> Option<(KeyVersion, &str)> {
    let (version_text, payload) = rest.strip_prefix('v')?.split_once(':')?;
    let canonical_decimal = !version_text.is_empty()
        && version_text.len() <= 10
        && version_text.bytes().all(|b| b.is_ascii_digit())
        && !version_text.starts_with('0');
    if !canonical_decimal {
        return None;
    }
    let version = KeyVersion::new(version_text.parse().ok()?).ok()?;
    Some((version, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::envelope::{Header, COMMITMENT_LEN, NONCE_LEN};
    use crate::master_key::MasterKeyId;

    fn envelope_at(version: u32) -> Vec<u8> {
        let mut bytes = Header {
            algorithm: Algorithm::Aes256Gcm,
            master_key_id: MasterKeyId::from_bytes([1; 8]),
            version: KeyVersion::new(version).unwrap(),
            nonce: [2; NONCE_LEN],
            commitment: [3; COMMITMENT_LEN],
        }
        .encode()
        .to_vec();
        // 0xfbffbf encodes as "+/+/", so the payload has both standard-only characters; 82
        // bytes in all, so it ends with padding.
        bytes.extend_from_slice(&[0xfb, 0xff, 0xbf]);
        bytes.extend_from_slice(&[4; 19]);
        bytes
    }

    #[test]
    fn round_trips_and_claims_its_version() {
        let envelope = envelope_at(7);
        let text = encode(&envelope, KeyVersion::new(7).unwrap());
        assert!(text.starts_with("vault:v7:"));
        assert!(text.ends_with('='), "standard base64 keeps its padding");
        assert_eq!(decode(&text).unwrap(), envelope);
        assert_eq!(claimed_version(&text), KeyVersion::new(7).ok());
        let wrapped = format!("vault:v7:{}", {
            let payload = &text["vault:v7:".len()..];
            format!("{}\n{}\r\n", &payload[..10], &payload[10..])
        });
        assert_eq!(decode(&wrapped).unwrap(), envelope);
    }

    #[test]
    fn errors_carry_vaults_messages() {
        let envelope = envelope_at(2);
        let payload = go_base64::encode(&envelope);
        let cases = [
            (String::new(), VaultTextError::NoPrefix),
            (format!("Vault:v2:{payload}"), VaultTextError::NoPrefix),
            (format!("cs1:v2:{payload}"), VaultTextError::NoPrefix),
            (format!(" vault:v2:{payload}"), VaultTextError::NoPrefix),
            (format!("vault:2:{payload}"), VaultTextError::BadVersion),
            (format!("vault:v:{payload}"), VaultTextError::BadVersion),
            (format!("vault:v0:{payload}"), VaultTextError::BadVersion),
            (format!("vault:v02:{payload}"), VaultTextError::BadVersion),
            (format!("vault:v+2:{payload}"), VaultTextError::BadVersion),
            (
                format!("vault:v99999999999:{payload}"),
                VaultTextError::BadVersion,
            ),
            ("vault:v2".to_string(), VaultTextError::BadVersion),
            (
                format!("vault:v2:{}", payload.trim_end_matches('=')),
                VaultTextError::BadBase64,
            ),
            (format!("vault:v2: {payload}"), VaultTextError::BadBase64),
            (
                format!("vault:v2:{}", payload.replace('+', "-").replace('/', "_")),
                VaultTextError::BadBase64,
            ),
            (format!("vault:v3:{payload}"), VaultTextError::BadLength),
            ("vault:v2:".to_string(), VaultTextError::BadLength),
            ("vault:v2:aGVsbG8=".to_string(), VaultTextError::BadLength),
        ];
        assert!(payload.contains("+/+/") && payload.ends_with("=="));
        for (text, expected) in cases {
            assert_eq!(decode(&text).unwrap_err(), expected, "{text}");
        }
        assert_eq!(
            VaultTextError::NoPrefix.to_string(),
            "invalid ciphertext: no prefix"
        );
        assert_eq!(
            VaultTextError::BadVersion.to_string(),
            "invalid ciphertext: version number could not be decoded"
        );
        assert_eq!(
            VaultTextError::BadBase64.to_string(),
            "invalid ciphertext: could not decode base64"
        );
        assert_eq!(
            VaultTextError::BadLength.to_string(),
            "invalid ciphertext length"
        );
    }
}
