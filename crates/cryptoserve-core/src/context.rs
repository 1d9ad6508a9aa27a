//! Context names, key versions, generation ids, and the metadata snapshot an operation runs
//! against.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

use crate::algorithm::Algorithm;
use crate::error::{CoreError, Result};

/// A validated context name: `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`. Invalid names cannot exist
/// past the edge, so derivation can rely on 1-64 ASCII bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextName(String);

impl ContextName {
    /// Longest allowed name in bytes.
    pub const MAX_LEN: usize = 64;

    /// Validates and wraps a name.
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = text.as_bytes();
        let first_ok = bytes.first().is_some_and(u8::is_ascii_alphanumeric);
        let rest_ok = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if first_ok && rest_ok && bytes.len() <= Self::MAX_LEN {
            Ok(Self(text.to_owned()))
        } else {
            Err(CoreError::InvalidContextName)
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContextName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ContextName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A context key version, starting at 1 and growing by one with every rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyVersion(u32);

impl KeyVersion {
    /// The first version of every context.
    pub const FIRST: KeyVersion = KeyVersion(1);

    /// Validates a version number (must be ≥ 1).
    pub fn new(version: u32) -> Result<Self> {
        if version == 0 {
            Err(CoreError::InvalidKeyVersion)
        } else {
            Ok(Self(version))
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The version after this one, for rotation.
    pub fn next(self) -> Result<Self> {
        self.0
            .checked_add(1)
            .map(Self)
            .ok_or(CoreError::InvalidKeyVersion)
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A random, non-secret id given to a context when it is created and mixed into its key
/// derivation, so that a context deleted and re-created under the same name derives new keys
/// and can never open the old one's ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GenerationId([u8; 16]);

impl GenerationId {
    /// Length of the id in bytes.
    pub const LEN: usize = 16;

    /// A fresh id from the system random number generator, for a context being created.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; Self::LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| CoreError::RandomFailure)?;
        Ok(Self(bytes))
    }

    /// Parses the stored form: exactly 32 hexadecimal characters, either case.
    pub fn from_hex(text: &str) -> Result<Self> {
        if text.len() != 2 * Self::LEN {
            return Err(CoreError::InvalidGenerationId);
        }
        let mut bytes = [0u8; Self::LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| CoreError::InvalidGenerationId)?;
        Ok(Self(bytes))
    }

    /// The stored form: 32 lowercase hexadecimal characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The raw bytes, as mixed into key derivation.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

/// What the core needs to know about a context for one operation: a snapshot of the metadata
/// the server keeps in its cache. Sealing uses `current_version` and `algorithm` (or an
/// explicitly requested version); opening accepts versions in
/// `min_decryption_version..=current_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSpec {
    /// The context's name, bound into key derivation and associated data.
    pub name: ContextName,
    /// The algorithm new ciphertext is sealed with.
    pub algorithm: Algorithm,
    /// The version new ciphertext is sealed under.
    pub current_version: KeyVersion,
    /// The oldest version that may still be opened; older ciphertext is refused.
    pub min_decryption_version: KeyVersion,
    /// The oldest version an explicit encryption request may name, so operators can stop new
    /// ciphertext under old keys before retiring them. 0 means no minimum (Vault's meaning).
    pub min_encryption_version: u32,
    /// Mixed into key derivation so a re-created context never re-derives a deleted one's
    /// keys. `None` only for contexts created before generation ids existed, whose keys must
    /// stay exactly as they were.
    pub generation: Option<GenerationId>,
    /// Every operation supplies a per-request derivation context and gets its own key, so one
    /// context can serve many tenants or records without their ciphertext being interchangeable.
    pub derived: bool,
    /// Sealing is deterministic: the same inputs give the same envelope, so equal values can be
    /// found by equality search. Requires `derived`.
    pub convergent: bool,
}

impl ContextSpec {
    /// A new context at version 1, without generation id, derivation or convergence.
    pub fn new(name: ContextName, algorithm: Algorithm) -> Self {
        Self {
            name,
            algorithm,
            current_version: KeyVersion::FIRST,
            min_decryption_version: KeyVersion::FIRST,
            min_encryption_version: 0,
            generation: None,
            derived: false,
            convergent: false,
        }
    }

    /// Whether ciphertext of `version` may be opened under this snapshot.
    pub fn accepts(&self, version: KeyVersion) -> bool {
        version >= self.min_decryption_version && version <= self.current_version
    }

    /// Checks that the settings are consistent, so a context can be refused when it is created
    /// rather than at its first use. Every cipher operation checks this too.
    pub fn validate(&self) -> Result<()> {
        if self.convergent && !self.derived {
            return Err(CoreError::ConvergentRequiresDerivation);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_follow_the_documented_pattern() {
        for good in ["a", "A9", "payments.v2", "user_pii-eu", &"x".repeat(64)] {
            assert!(ContextName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "a b",
            "a/b",
            "é",
            "a:b",
            &"x".repeat(65),
        ] {
            assert!(ContextName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_start_at_one() {
        assert!(KeyVersion::new(0).is_err());
        assert_eq!(KeyVersion::new(1).unwrap(), KeyVersion::FIRST);
        assert_eq!(KeyVersion::FIRST.next().unwrap().get(), 2);
        assert!(KeyVersion::new(u32::MAX).unwrap().next().is_err());
    }

    #[test]
    fn generation_ids_are_random_and_round_trip_through_hex() {
        let a = GenerationId::random().unwrap();
        let b = GenerationId::random().unwrap();
        assert_ne!(a, b);
        let text = a.to_hex();
        assert_eq!(text.len(), 32);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(GenerationId::from_hex(&text).unwrap(), a);
        assert_eq!(GenerationId::from_hex(&text.to_uppercase()).unwrap(), a);
        assert_eq!(a.as_bytes().as_slice(), hex::decode(&text).unwrap());
    }

    #[test]
    fn generation_id_hex_must_be_exactly_32_hex_characters() {
        let good = "00112233445566778899aabbccddeeff";
        assert!(GenerationId::from_hex(good).is_ok());
        for bad in [
            "",
            &good[..31],
            &good[..30],
            &format!("{good}0"),
            &format!("{good}00"),
            "00112233445566778899aabbccddeefg",
            " 0112233445566778899aabbccddeeff",
            "+0112233445566778899aabbccddeeff",
            "é0112233445566778899aabbccddeef",
        ] {
            assert_eq!(
                GenerationId::from_hex(bad).unwrap_err(),
                CoreError::InvalidGenerationId,
                "{bad}"
            );
        }
    }

    #[test]
    fn new_specs_have_no_extras_and_convergence_needs_derivation() {
        let mut spec = ContextSpec::new(ContextName::parse("p").unwrap(), Algorithm::Aes256Gcm);
        assert_eq!(spec.min_encryption_version, 0);
        assert_eq!(spec.generation, None);
        assert!(!spec.derived && !spec.convergent);
        assert!(spec.validate().is_ok());
        spec.convergent = true;
        assert_eq!(
            spec.validate().unwrap_err(),
            CoreError::ConvergentRequiresDerivation
        );
        spec.derived = true;
        assert!(spec.validate().is_ok());
    }
}
