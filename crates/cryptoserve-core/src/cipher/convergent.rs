//! Convergent (deterministic) encryption: the nonce is derived from the message instead of
//! drawn at random.
//!
//! `nonce = HMAC-SHA256(nonce_key, u64be(len(ad)) || ad || plaintext)[..12]`, where
//! `nonce_key` is a context key of its own purpose (`convergent-nonce`), derived per (master
//! key, context, version, algorithm, generation, derivation context). Sealing the same
//! plaintext with the same associated data under the same key therefore gives the same
//! envelope, which is what lets callers look encrypted values up by equality.
//!
//! The trade-off, and the point: anyone who can see ciphertexts learns which ones hold equal
//! plaintexts (under one derivation context and key version). Nothing else leaks: distinct
//! (associated data, plaintext) pairs get independent nonces (a nonce repeats only if the HMAC
//! collides in 96 bits), so the AEAD never sees one nonce with two different messages. Unlike
//! Vault, which hashes the plaintext only, the associated data is bound in too, so one nonce
//! is never used with two different AADs under one key. That is why convergence requires
//! derivation: each derivation context gets its own keys, so equality shows only within it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::envelope::NONCE_LEN;
use crate::error::{CoreError, Result};

/// The deterministic nonce for one (associated data, plaintext) under one nonce key.
pub(super) fn nonce(nonce_key: &[u8; 32], ad: &[u8], plaintext: &[u8]) -> Result<[u8; NONCE_LEN]> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(nonce_key).map_err(|_| CoreError::EncryptionFailed)?;
    // The length prefix keeps (ad, plaintext) splits apart: ("ab", "c") ≠ ("a", "bc").
    let ad_len = u64::try_from(ad.len()).unwrap_or(u64::MAX);
    mac.update(&ad_len.to_be_bytes());
    mac.update(ad);
    mac.update(plaintext);
    let digest = mac.finalize().into_bytes();
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&digest[..NONCE_LEN]);
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_the_truncated_hmac_of_length_prefixed_ad_and_plaintext() {
        let key = [7u8; 32];
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(&[0, 0, 0, 0, 0, 0, 0, 2, b'a', b'd', b'h', b'i']);
        let expected = mac.finalize().into_bytes();
        assert_eq!(nonce(&key, b"ad", b"hi").unwrap(), expected[..NONCE_LEN]);
    }

    #[test]
    fn every_input_changes_the_nonce() {
        let key = [7u8; 32];
        let base = nonce(&key, b"ab", b"c").unwrap();
        assert_eq!(nonce(&key, b"ab", b"c").unwrap(), base);
        assert_ne!(nonce(&key, b"a", b"bc").unwrap(), base);
        assert_ne!(nonce(&key, b"ab", b"d").unwrap(), base);
        assert_ne!(nonce(&key, b"", b"abc").unwrap(), base);
        assert_ne!(nonce(&[8u8; 32], b"ab", b"c").unwrap(), base);
    }
}
