//! Data keys: random keys handed to applications together with their sealed form, for
//! envelope encryption on the application's side (as AWS KMS `GenerateDataKey`).

use zeroize::Zeroizing;

use super::Sealed;
use crate::error::{CoreError, Result};

/// Data key sizes we hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeySize {
    /// 128-bit key.
    Bits128,
    /// 256-bit key.
    Bits256,
    /// 512-bit key (Vault Transit offers it, e.g. for AES-256-SIV or HMAC keys).
    Bits512,
}

impl DataKeySize {
    /// Parses a size in bits (128, 256 or 512).
    pub fn from_bits(bits: u32) -> Result<Self> {
        match bits {
            128 => Ok(Self::Bits128),
            256 => Ok(Self::Bits256),
            512 => Ok(Self::Bits512),
            _ => Err(CoreError::InvalidDataKeySize),
        }
    }

    pub(super) fn bytes(self) -> usize {
        match self {
            Self::Bits128 => 16,
            Self::Bits256 => 32,
            Self::Bits512 => 64,
        }
    }
}

/// A fresh data key: the plaintext bytes (zeroized on drop) and the same bytes sealed under
/// the context key.
pub struct DataKey {
    /// The key itself; hand it to the caller only if they asked for it.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The key sealed as an ordinary envelope.
    pub wrapped: Sealed,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &"[redacted]")
            .field("wrapped", &self.wrapped)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_from_bits() {
        for (bits, bytes) in [(128, 16), (256, 32), (512, 64)] {
            assert_eq!(DataKeySize::from_bits(bits).unwrap().bytes(), bytes);
        }
        for bits in [0, 64, 192, 384, 1024] {
            assert_eq!(
                DataKeySize::from_bits(bits).unwrap_err(),
                CoreError::InvalidDataKeySize
            );
        }
        assert_eq!(
            CoreError::InvalidDataKeySize.to_string(),
            "invalid data key size: use 128, 256 or 512 bits"
        );
    }
}
