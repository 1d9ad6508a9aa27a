//! What the core benches share: the engine and context under test, and the raw `ring`
//! baseline the envelope is compared with, defined once so every bench measures the same one.

use cryptoserve_core::{Algorithm, Cipher, ContextName, ContextSpec, Keyring, MasterKey, Salt};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::hint::black_box;

/// An engine with a fixed master key and salt.
pub fn cipher() -> Cipher {
    Cipher::new(
        Keyring::new(MasterKey::from_bytes([7; 32])),
        Salt::new("bench").unwrap(),
    )
}

/// An AES-256-GCM context.
pub fn spec() -> ContextSpec {
    ContextSpec::new(
        ContextName::parse("payments").unwrap(),
        Algorithm::Aes256Gcm,
    )
}

/// The raw baseline's key.
pub fn raw_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap())
}

/// Raw baseline: copy into a fresh buffer and seal, as the envelope must too; counter nonce,
/// no associated data.
pub fn raw_seal(key: &LessSafeKey, counter: &mut u64, plaintext: &[u8]) -> Vec<u8> {
    *counter += 1;
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&counter.to_be_bytes());
    let mut buffer = Vec::with_capacity(plaintext.len() + 16);
    buffer.extend_from_slice(black_box(plaintext));
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut buffer,
        )
        .unwrap();
    buffer.extend_from_slice(tag.as_ref());
    buffer
}
