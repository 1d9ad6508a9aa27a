//! Context names, key versions, and the metadata snapshot an operation runs against.

use std::fmt;

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

/// What the core needs to know about a context for one operation: a snapshot of the metadata
/// the server keeps in its cache. Sealing uses `current_version` and `algorithm`; opening
/// accepts versions in `min_decryption_version..=current_version`.
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
}

impl ContextSpec {
    /// A new context at version 1.
    pub fn new(name: ContextName, algorithm: Algorithm) -> Self {
        Self {
            name,
            algorithm,
            current_version: KeyVersion::FIRST,
            min_decryption_version: KeyVersion::FIRST,
        }
    }

    /// Whether ciphertext of `version` may be opened under this snapshot.
    pub fn accepts(&self, version: KeyVersion) -> bool {
        version >= self.min_decryption_version && version <= self.current_version
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
}
