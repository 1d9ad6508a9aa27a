//! HKDF-SHA256 key derivation with an unambiguous, length-prefixed info string.
//!
//! ```text
//! info = lp("cryptoserve/v1") || lp(purpose) || lp(context) || u32be(version) || u8(alg)
//!        [ || 0x01 || u16be(16) || generation ]          only when the context has one
//!        [ || 0x02 || u32be(len(derivation)) || derivation ]   only for derived contexts
//! ```
//!
//! where `lp(x) = u16be(len(x)) || x`. Distinct (purpose, context, version, algorithm,
//! generation, derivation) tuples always give distinct info strings, hence independent keys.
//! The optional fields are tagged and appended after the original bytes only when present, so
//! contexts created before they existed derive exactly the keys they always did.

use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::algorithm::Algorithm;
use crate::context::{ContextName, GenerationId, KeyVersion};
use crate::error::{CoreError, Result};
use crate::master_key::MasterKey;

const INFO_DOMAIN: &[u8] = b"cryptoserve/v1";
/// Tag of the optional generation-id field.
const TAG_GENERATION: u8 = 0x01;
/// Tag of the optional derivation-context field.
const TAG_DERIVATION: u8 = 0x02;

/// What a derived key is for; part of the info string so keys for different purposes never
/// coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The AEAD key that seals messages.
    AeadKey,
    /// The key whose HMAC of a fixed label is the envelope's key commitment.
    KeyCommitment,
    /// The HMAC key that turns (associated data, plaintext) into a nonce for convergent
    /// (deterministic) encryption.
    ConvergentNonce,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::AeadKey => b"aead-key",
            Self::KeyCommitment => b"key-commitment",
            Self::ConvergentNonce => b"convergent-nonce",
        }
    }
}

/// Everything that identifies one family of context keys (one key per [`Purpose`]): the
/// inputs of the info string other than the purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyId<'a> {
    /// The context's name.
    pub context: &'a ContextName,
    /// The context key version.
    pub version: KeyVersion,
    /// The AEAD the key is for.
    pub algorithm: Algorithm,
    /// The context's generation id; `None` for contexts created before generation ids.
    pub generation: Option<&'a GenerationId>,
    /// The per-request derivation context of a derived context; `None` otherwise. An empty
    /// context is present, and derives a different key from an absent one.
    pub derivation: Option<&'a [u8]>,
}

impl<'a> KeyId<'a> {
    /// The key id of an original (non-derived, generation-less) context.
    pub fn new(context: &'a ContextName, version: KeyVersion, algorithm: Algorithm) -> Self {
        Self {
            context,
            version,
            algorithm,
            generation: None,
            derivation: None,
        }
    }
}

/// The deployment's HKDF salt (`HKDF_SALT`). Not secret in the cryptographic sense, but it
/// separates deployments, so it is still kept out of logs.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Salt(Vec<u8>);

impl Salt {
    /// Wraps the salt text. It must not be empty.
    pub fn new(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Err(CoreError::InvalidSalt {
                reason: "it is empty; set HKDF_SALT to a unique per-deployment string",
            });
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    /// Raw salt bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt([redacted])")
    }
}

/// Builds the info string for one derived key.
pub fn info(purpose: Purpose, key: &KeyId<'_>) -> Vec<u8> {
    let optional = key.generation.map_or(0, |_| 3 + GenerationId::LEN)
        + key.derivation.map_or(0, |bytes| 5 + bytes.len());
    let mut info = Vec::with_capacity(2 + INFO_DOMAIN.len() + 2 + 16 + 2 + 64 + 5 + optional);
    push_length_prefixed(&mut info, INFO_DOMAIN);
    push_length_prefixed(&mut info, purpose.label());
    push_length_prefixed(&mut info, key.context.as_str().as_bytes());
    info.extend_from_slice(&key.version.get().to_be_bytes());
    info.push(key.algorithm.id());
    if let Some(generation) = key.generation {
        info.push(TAG_GENERATION);
        push_length_prefixed(&mut info, generation.as_bytes());
    }
    if let Some(derivation) = key.derivation {
        info.push(TAG_DERIVATION);
        // Request bodies are capped far below 4 GiB. Even a saturated length stays
        // unambiguous: this field is always the last one, so it ends where the info ends.
        let len = u32::try_from(derivation.len()).unwrap_or(u32::MAX);
        info.extend_from_slice(&len.to_be_bytes());
        info.extend_from_slice(derivation);
    }
    info
}

fn push_length_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are our own labels, context names (≤ 64 bytes) or generation ids (16 bytes), far
    // below u16::MAX.
    let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

/// Raw HKDF-SHA256 (extract then expand) into `out`. Exposed so the RFC 5869 known-answer
/// tests run through the exact function the derivation uses.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| CoreError::EncryptionFailed)
}

/// Derives the 32-byte key for one purpose of one context key.
pub fn derive_context_key(
    master_key: &MasterKey,
    salt: &Salt,
    purpose: Purpose,
    key_id: &KeyId<'_>,
) -> Result<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    let info = info(purpose, key_id);
    hkdf_sha256(
        salt.as_bytes(),
        master_key.expose(),
        &info,
        key.as_mut_slice(),
    )?;
    Ok(key)
}

/// Derives a 32-byte key for a service-level purpose that is not tied to a context (for
/// example the audit-log MAC key). Its info string starts like a context key's but its second
/// field is `"service"`, a label no context-key purpose uses, so the two families never meet.
pub fn derive_service_key(
    master_key: &MasterKey,
    salt: &Salt,
    purpose: &str,
) -> Result<Zeroizing<[u8; 32]>> {
    let mut info = Vec::with_capacity(64);
    push_length_prefixed(&mut info, INFO_DOMAIN);
    push_length_prefixed(&mut info, b"service");
    push_length_prefixed(&mut info, purpose.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf_sha256(
        salt.as_bytes(),
        master_key.expose(),
        &info,
        key.as_mut_slice(),
    )?;
    Ok(key)
}

#[cfg(test)]
mod tests;
