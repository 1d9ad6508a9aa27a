//! The AEAD algorithms a context can use, with the ids written into envelopes.

use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;

/// An AEAD algorithm. The discriminant is the byte stored in envelopes and HKDF info strings,
/// so it must never be renumbered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// AES-256 in Galois/Counter Mode (hardware-accelerated on modern CPUs). The default.
    #[default]
    Aes256Gcm = 1,
    /// ChaCha20-Poly1305 (RFC 8439), fast without AES instructions.
    ChaCha20Poly1305 = 2,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 2] = [Algorithm::Aes256Gcm, Algorithm::ChaCha20Poly1305];

    /// The stable wire id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// Looks an algorithm up by its wire id.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::Aes256Gcm),
            2 => Some(Self::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// The API / database name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes256Gcm => "aes-256-gcm",
            Self::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }

    pub(crate) fn ring(self) -> &'static ring::aead::Algorithm {
        match self {
            Self::Aes256Gcm => &ring::aead::AES_256_GCM,
            Self::ChaCha20Poly1305 => &ring::aead::CHACHA20_POLY1305,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = CoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name() == text)
            .ok_or(CoreError::UnsupportedAlgorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.name().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(Algorithm::from_id(alg.id()), Some(alg));
        }
        assert!("aes-128-gcm".parse::<Algorithm>().is_err());
        assert_eq!(Algorithm::from_id(0), None);
        assert_eq!(Algorithm::from_id(3), None);
    }
}
