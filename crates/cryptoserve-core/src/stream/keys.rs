//! Key derivation for one file: the header MAC key and the payload key with its nonce prefix.
//!
//! ```text
//! PRK = HKDF-Extract(salt = file salt, IKM = data key)
//! MK  = HKDF-Expand(PRK, "cryptoserve/file/v1/header-mac", 32)
//! MAC = HMAC-SHA256(MK, header body)
//! PK ‖ NP = HKDF-Expand(PRK, "cryptoserve/file/v1/payload" ‖ SHA-256(header body), 32 + 7)
//! ```
//!
//! The random salt makes the keys of two files independent even under one data key; the
//! header hash in the payload info binds every chunk to the exact header; the MAC (HMAC is
//! key-committing, unlike GCM) lets a reader tell a wrong key or a modified header apart
//! from damaged chunks, before decrypting anything.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::header::MAC_LEN;
use crate::aead;
use crate::algorithm::Algorithm;
use crate::error::{CoreError, Result};

const HEADER_MAC_INFO: &[u8] = b"cryptoserve/file/v1/header-mac";
const PAYLOAD_INFO: &[u8] = b"cryptoserve/file/v1/payload";
/// Bytes of the chunk nonce taken from the key derivation (the rest is counter and flag).
pub(super) const NONCE_PREFIX_LEN: usize = 7;

/// The two things derived for one file.
pub(super) struct FileKeys {
    /// The MAC over the header body, computed with the data key.
    pub header_mac: [u8; MAC_LEN],
    /// The AEAD key that seals every chunk.
    pub payload: ring::aead::LessSafeKey,
    /// The first 7 bytes of every chunk nonce.
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

/// Derives a file's keys from the data key, the header's salt and the header body.
pub(super) fn derive(
    data_key: &[u8],
    algorithm: Algorithm,
    salt: &[u8],
    header_body: &[u8],
) -> Result<FileKeys> {
    if data_key.len() != 32 && data_key.len() != 64 {
        return Err(CoreError::InvalidFileParameters {
            reason: "the data key must be 256 or 512 bits",
        });
    }
    let expand_failed = |_| CoreError::EncryptionFailed;
    let hkdf = Hkdf::<Sha256>::new(Some(salt), data_key);

    let mut mac_key = Zeroizing::new([0u8; 32]);
    hkdf.expand(HEADER_MAC_INFO, mac_key.as_mut_slice())
        .map_err(expand_failed)?;
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(mac_key.as_slice())
        .map_err(|_| CoreError::EncryptionFailed)?;
    mac.update(header_body);
    let header_mac: [u8; MAC_LEN] = mac.finalize().into_bytes().into();

    let header_hash = Sha256::digest(header_body);
    let mut material = Zeroizing::new([0u8; 32 + NONCE_PREFIX_LEN]);
    hkdf.expand_multi_info(
        &[PAYLOAD_INFO, header_hash.as_slice()],
        material.as_mut_slice(),
    )
    .map_err(expand_failed)?;
    let mut payload_key = Zeroizing::new([0u8; 32]);
    payload_key.copy_from_slice(&material[..32]);
    let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
    nonce_prefix.copy_from_slice(&material[32..]);
    Ok(FileKeys {
        header_mac,
        payload: aead::build_key(algorithm, &payload_key)?,
        nonce_prefix,
    })
}

/// Compares two MACs in constant time.
pub(super) fn macs_match(expected: &[u8; MAC_LEN], found: &[u8; MAC_LEN]) -> bool {
    subtle::ConstantTimeEq::ct_eq(expected.as_slice(), found.as_slice()).into()
}
