//! The master key: 32 secret bytes that every context key is derived from.
//!
//! It is parsed from hex at the edge, zeroized on drop, and prints as `[redacted]`. Only its
//! [`MasterKeyId`] — a fingerprint made with a fixed label — ever leaves the process.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{CoreError, Result};

const MASTER_KEY_LEN: usize = 32;
const KEY_ID_LABEL: &[u8] = b"cryptoserve/v1/master-key-id";

/// The deployment's root secret. Every instance of a cluster must hold the same one.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    bytes: [u8; MASTER_KEY_LEN],
    #[zeroize(skip)]
    id: MasterKeyId,
}

impl MasterKey {
    /// Parses 64 hexadecimal characters (surrounding whitespace, such as a trailing newline
    /// from a file, is ignored). Errors say what is wrong without echoing the input.
    pub fn from_hex(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CoreError::InvalidMasterKey {
                reason: "it is empty",
            });
        }
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CoreError::InvalidMasterKey {
                reason: "it contains characters that are not hexadecimal digits",
            });
        }
        if text.len() != MASTER_KEY_LEN * 2 {
            return Err(CoreError::InvalidMasterKey {
                reason: if text.len() < MASTER_KEY_LEN * 2 {
                    "it is too short"
                } else {
                    "it is too long"
                },
            });
        }
        let mut bytes = [0u8; MASTER_KEY_LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| CoreError::InvalidMasterKey {
            reason: "it is not valid hexadecimal",
        })?;
        let key = Self::from_bytes(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// Builds a key from raw bytes (the caller's copy should be zeroized by the caller).
    pub fn from_bytes(bytes: [u8; MASTER_KEY_LEN]) -> Self {
        let id = MasterKeyId::fingerprint(&bytes);
        Self { bytes, id }
    }

    /// A fresh random key, for `cryptoserve keygen` and development defaults.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| CoreError::RandomFailure)?;
        let key = Self::from_bytes(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// The key as 64 lowercase hex characters. Only for writing a freshly generated key to its
    /// file or terminal; the returned string is zeroized on drop.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.bytes))
    }

    /// The fingerprint carried in every ciphertext sealed under this key.
    pub fn id(&self) -> MasterKeyId {
        self.id
    }

    pub(crate) fn expose(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

/// An 8-byte fingerprint of a master key: `HMAC-SHA256(key, label)[..8]`. It identifies which
/// master key sealed an envelope without revealing anything usable about the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MasterKeyId([u8; 8]);

impl MasterKeyId {
    /// Length of the id in bytes, as stored in envelopes.
    pub const LEN: usize = 8;

    fn fingerprint(key: &[u8; MASTER_KEY_LEN]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail; fall back to a fixed id
        // rather than panic to honour the no-panic rule.
        let mut id = [0u8; 8];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
            mac.update(KEY_ID_LABEL);
            id.copy_from_slice(&mac.finalize().into_bytes()[..8]);
        }
        Self(id)
    }

    /// Wraps raw id bytes read from an envelope.
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    /// Raw bytes, as written into envelopes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// Parses the 16-hex-character display form.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 8];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn parses_64_hex_characters_and_trims_whitespace() {
        let key = MasterKey::from_hex(&format!("  {GOOD}\n")).unwrap();
        assert_eq!(key.to_hex().as_str(), GOOD);
    }

    #[test]
    fn rejects_bad_input_without_echoing_it() {
        let cases = [
            ("", "empty"),
            ("abcd", "too short"),
            (&format!("{GOOD}00")[..], "too long"),
            (
                "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "hexadecimal",
            ),
        ];
        for (input, expected) in cases {
            let err = MasterKey::from_hex(input).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(expected), "{message}");
            assert!(message.contains("cryptoserve keygen"), "{message}");
            if input.len() > 4 {
                assert!(!message.contains(input), "error echoed the input");
            }
        }
    }

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::from_hex(GOOD).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains(GOOD));
        assert!(!debug.contains("0102030405"));
    }

    #[test]
    fn id_is_a_stable_fingerprint_not_the_key() {
        let key = MasterKey::from_hex(GOOD).unwrap();
        let again = MasterKey::from_hex(GOOD).unwrap();
        assert_eq!(key.id(), again.id());
        assert_ne!(&key.id().as_bytes()[..], &key.expose()[..8]);
        let other = MasterKey::generate().unwrap();
        assert_ne!(key.id(), other.id());
        assert_eq!(MasterKeyId::from_hex(&key.id().to_string()), Some(key.id()));
    }
}
