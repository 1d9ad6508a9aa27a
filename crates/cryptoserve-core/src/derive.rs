//! HKDF-SHA256 key derivation with an unambiguous, length-prefixed info string.
//!
//! `info = lp("cryptoserve/v1") || lp(purpose) || lp(context) || u32be(version) || u8(alg)`
//! where `lp(x) = u16be(len(x)) || x`. Distinct (purpose, context, version, algorithm) tuples
//! always give distinct info strings, hence independent keys.

use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::algorithm::Algorithm;
use crate::context::{ContextName, KeyVersion};
use crate::error::{CoreError, Result};
use crate::master_key::MasterKey;

const INFO_DOMAIN: &[u8] = b"cryptoserve/v1";

/// What a derived key is for; part of the info string so keys for different purposes never
/// coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The AEAD key that seals messages.
    AeadKey,
    /// The key whose HMAC of a fixed label is the envelope's key commitment.
    KeyCommitment,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::AeadKey => b"aead-key",
            Self::KeyCommitment => b"key-commitment",
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
pub fn info(
    purpose: Purpose,
    context: &ContextName,
    version: KeyVersion,
    algorithm: Algorithm,
) -> Vec<u8> {
    let mut info = Vec::with_capacity(2 + INFO_DOMAIN.len() + 2 + 16 + 2 + 64 + 5);
    push_length_prefixed(&mut info, INFO_DOMAIN);
    push_length_prefixed(&mut info, purpose.label());
    push_length_prefixed(&mut info, context.as_str().as_bytes());
    info.extend_from_slice(&version.get().to_be_bytes());
    info.push(algorithm.id());
    info
}

fn push_length_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are our own labels or context names (≤ 64 bytes), far below u16::MAX.
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

/// Derives the 32-byte key for one (purpose, context, version, algorithm).
pub fn derive_context_key(
    master_key: &MasterKey,
    salt: &Salt,
    purpose: Purpose,
    context: &ContextName,
    version: KeyVersion,
    algorithm: Algorithm,
) -> Result<Zeroizing<[u8; 32]>> {
    let mut key = Zeroizing::new([0u8; 32]);
    let info = info(purpose, context, version, algorithm);
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
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    /// RFC 5869, Appendix A: test cases 1, 2 and 3 (SHA-256).
    #[test]
    fn rfc5869_known_answers() {
        let cases = [
            (
                "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                "000102030405060708090a0b0c",
                "f0f1f2f3f4f5f6f7f8f9",
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
                "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
            ),
            (
                "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
                "",
                "",
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
            ),
        ];
        for (ikm, salt, info, okm) in cases {
            let expected = unhex(okm);
            let mut out = vec![0u8; expected.len()];
            hkdf_sha256(&unhex(salt), &unhex(ikm), &unhex(info), &mut out).unwrap();
            assert_eq!(hex::encode(&out), okm);
        }
    }

    #[test]
    fn info_strings_are_unambiguous() {
        let a = ContextName::parse("ab").unwrap();
        let b = ContextName::parse("a").unwrap();
        let v1 = KeyVersion::FIRST;
        let v2 = v1.next().unwrap();
        let all = [
            info(Purpose::AeadKey, &a, v1, Algorithm::Aes256Gcm),
            info(Purpose::AeadKey, &b, v1, Algorithm::Aes256Gcm),
            info(Purpose::AeadKey, &a, v2, Algorithm::Aes256Gcm),
            info(Purpose::AeadKey, &a, v1, Algorithm::ChaCha20Poly1305),
            info(Purpose::KeyCommitment, &a, v1, Algorithm::Aes256Gcm),
        ];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn different_inputs_give_different_keys() {
        let master = MasterKey::from_bytes([7u8; 32]);
        let salt = Salt::new("deployment-salt").unwrap();
        let other_salt = Salt::new("other-deployment").unwrap();
        let ctx = ContextName::parse("payments").unwrap();
        let other = ContextName::parse("payment").unwrap();
        let v1 = KeyVersion::FIRST;
        let base = derive_context_key(
            &master,
            &salt,
            Purpose::AeadKey,
            &ctx,
            v1,
            Algorithm::Aes256Gcm,
        )
        .unwrap();
        let variants = [
            derive_context_key(
                &master,
                &salt,
                Purpose::AeadKey,
                &other,
                v1,
                Algorithm::Aes256Gcm,
            ),
            derive_context_key(
                &master,
                &salt,
                Purpose::AeadKey,
                &ctx,
                v1.next().unwrap(),
                Algorithm::Aes256Gcm,
            ),
            derive_context_key(
                &master,
                &salt,
                Purpose::AeadKey,
                &ctx,
                v1,
                Algorithm::ChaCha20Poly1305,
            ),
            derive_context_key(
                &master,
                &salt,
                Purpose::KeyCommitment,
                &ctx,
                v1,
                Algorithm::Aes256Gcm,
            ),
            derive_context_key(
                &master,
                &other_salt,
                Purpose::AeadKey,
                &ctx,
                v1,
                Algorithm::Aes256Gcm,
            ),
            derive_context_key(
                &MasterKey::from_bytes([8u8; 32]),
                &salt,
                Purpose::AeadKey,
                &ctx,
                v1,
                Algorithm::Aes256Gcm,
            ),
        ];
        for variant in variants {
            assert_ne!(*variant.unwrap(), *base);
        }
    }

    #[test]
    fn empty_salt_is_refused_and_salt_debug_is_redacted() {
        assert!(Salt::new("").is_err());
        assert_eq!(
            format!("{:?}", Salt::new("s3cret").unwrap()),
            "Salt([redacted])"
        );
    }
}
