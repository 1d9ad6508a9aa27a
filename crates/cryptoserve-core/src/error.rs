//! The crate's one error type.
//!
//! Decryption has exactly one failure variant, [`CoreError::DecryptionFailed`], whatever check
//! failed, so that no caller (and no log line) can tell a bad tag from a wrong context.

/// Everything the core can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The master key text is unusable. The message says what is wrong and how to make a good
    /// key, and never echoes the input.
    #[error(
        "invalid master key: {reason}; expected 64 hexadecimal characters (32 bytes). \
         Generate one with `cryptoserve keygen` or `openssl rand -hex 32`"
    )]
    InvalidMasterKey {
        /// What was wrong, without the input itself.
        reason: &'static str,
    },
    /// The HKDF salt is unusable.
    #[error("invalid HKDF salt: {reason}")]
    InvalidSalt {
        /// What was wrong, without the input itself.
        reason: &'static str,
    },
    /// A context name does not match `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`.
    #[error(
        "invalid context name: must be 1-64 characters of letters, digits, '.', '_' or '-', \
         starting with a letter or digit"
    )]
    InvalidContextName,
    /// A key version is zero or otherwise out of range.
    #[error("invalid key version: versions start at 1")]
    InvalidKeyVersion,
    /// An algorithm name or id is not one we support.
    #[error("unsupported algorithm: use \"aes-256-gcm\" or \"chacha20-poly1305\"")]
    UnsupportedAlgorithm,
    /// A data key size other than 128 or 256 bits was asked for.
    #[error("invalid data key size: use 128 or 256 bits")]
    InvalidDataKeySize,
    /// Any failure to open an envelope: malformed, unknown key, retired version, wrong context,
    /// wrong associated data, tampered bytes. Deliberately uninformative.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The system random number generator failed; nothing was sealed.
    #[error("the system random number generator failed")]
    RandomFailure,
    /// Sealing failed inside the AEAD (only possible for absurd message sizes).
    #[error("encryption failed")]
    EncryptionFailed,
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, CoreError>;
