//! The crate's one error type.
//!
//! Decryption has exactly one failure variant, [`CoreError::DecryptionFailed`], whatever check
//! on the ciphertext failed, so that no caller (and no log line) can tell a bad tag from a wrong
//! context. The only errors an open can return besides it are about the *request* and say
//! nothing about the ciphertext: a derived context opened without its derivation context, or a
//! context whose settings are inconsistent.
//!
//! The messages of the key-version and derivation variants are Vault Transit's own, so clients
//! written against Vault see familiar text.

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
    /// A data key size other than 128, 256 or 512 bits was asked for.
    #[error("invalid data key size: use 128, 256 or 512 bits")]
    InvalidDataKeySize,
    /// A stored generation id is not 32 hexadecimal characters; the metadata is damaged.
    #[error("invalid generation id: expected 32 hexadecimal characters (16 bytes)")]
    InvalidGenerationId,
    /// Encryption asked for a key version newer than the context's current one.
    #[error("requested version for encryption is higher than the latest key version")]
    VersionAboveLatest,
    /// Encryption asked for a key version below the context's `min_encryption_version`.
    #[error("requested version for encryption is less than the minimum encryption key version")]
    VersionBelowMinEncryption,
    /// Encryption asked for a key version below `min_decryption_version`: that key is retired
    /// and, as far as the caller is concerned, no longer exists.
    #[error("no such key version")]
    VersionRetired,
    /// The context is derived, so every operation must carry a per-request derivation
    /// context, and this one did not.
    #[error(
        "missing 'context' for key derivation; the key was created using a derived key, which \
         means additional, per-request information must be included in order to perform \
         operations with the key"
    )]
    MissingDerivationContext,
    /// The context is convergent but not derived. Convergent encryption without derivation
    /// would make equal plaintexts visible across every user of the context, so it is refused.
    #[error("convergent encryption requires derivation to be enabled")]
    ConvergentRequiresDerivation,
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
    /// Streaming file encryption ([`crate::stream`]): the input does not start with the file
    /// magic, so it is not a CryptoServe encrypted file at all.
    #[error("not a CryptoServe encrypted file")]
    NotAnEncryptedFile,
    /// The file magic is right but the format version is one this build does not know (a file
    /// written by a newer CryptoServe).
    #[error("unsupported encrypted file format version {version}")]
    UnsupportedFileVersion {
        /// The version byte found in the file.
        version: u8,
    },
    /// The file header is malformed, or a chunk breaks the format's layout rules.
    #[error("corrupt encrypted file: {reason}")]
    FileCorrupt {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The header's MAC does not verify: the data key is not the one the file was written
    /// with, or the header was modified.
    #[error("file header authentication failed: wrong data key, or the header was modified")]
    FileHeaderAuthenticationFailed,
    /// A chunk does not authenticate: its bytes were modified, chunks were reordered or
    /// dropped, or the chunk comes from another file.
    #[error(
        "chunk {chunk} of the encrypted file failed authentication: the file was modified, \
         reordered, or mixed with another file"
    )]
    FileChunkAuthenticationFailed {
        /// Zero-based index of the first chunk that failed.
        chunk: u64,
    },
    /// The input ended before the final chunk: the file was truncated.
    #[error("the encrypted file is truncated: it ends before its final chunk")]
    FileTruncated,
    /// Bytes follow the authenticated final chunk.
    #[error("unexpected data after the final chunk of the encrypted file")]
    FileTrailingData,
    /// The plaintext needs more chunks than the 32-bit chunk counter can number.
    #[error("the file is too large for its chunk size (more than 2^32 chunks)")]
    FileTooLarge,
    /// Parameters given to the file encoder or decoder are unusable (chunk size, data key
    /// length, wrapped key text).
    #[error("invalid file encryption parameters: {reason}")]
    InvalidFileParameters {
        /// What was wrong, without echoing secret input.
        reason: &'static str,
    },
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, CoreError>;
