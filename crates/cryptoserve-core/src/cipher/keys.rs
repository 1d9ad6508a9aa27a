//! Deriving the ready-to-use key set of one context key: AEAD key, commitment, and (for
//! convergent contexts) the nonce key. Runs only on a key-cache miss.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::aead;
use crate::derive::{derive_context_key, KeyId, Purpose, Salt};
use crate::error::{CoreError, Result};
use crate::key_cache::ContextKey;
use crate::master_key::MasterKey;

const COMMITMENT_LABEL: &[u8] = b"cryptoserve/v1/key-commitment";

/// Derives the AEAD key, its commitment and, when `convergent`, the nonce key.
pub(super) fn derive_uncached(
    master: &MasterKey,
    salt: &Salt,
    key_id: &KeyId<'_>,
    convergent: bool,
) -> Result<ContextKey> {
    let aead_key = derive_context_key(master, salt, Purpose::AeadKey, key_id)?;
    let commitment_key = derive_context_key(master, salt, Purpose::KeyCommitment, key_id)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(commitment_key.as_slice())
        .map_err(|_| CoreError::EncryptionFailed)?;
    mac.update(COMMITMENT_LABEL);
    let commitment: [u8; 32] = mac.finalize().into_bytes().into();
    let nonce_key = if convergent {
        Some(derive_context_key(
            master,
            salt,
            Purpose::ConvergentNonce,
            key_id,
        )?)
    } else {
        None
    };
    Ok(ContextKey {
        aead: aead::build_key(key_id.algorithm, &aead_key)?,
        commitment,
        nonce_key,
    })
}
