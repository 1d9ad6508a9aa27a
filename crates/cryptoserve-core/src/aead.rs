//! The thin layer over `ring`'s AEADs: build a key, seal in place, open in place.
//!
//! Every seal and open in the crate goes through these three functions, and the NIST / RFC 8439
//! known-answer tests below call them too, so the vectors check the code path in use.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};

use crate::algorithm::Algorithm;
use crate::error::{CoreError, Result};

/// Length of every AEAD tag we use.
pub const TAG_LEN: usize = 16;

/// Expands raw key bytes into a ready-to-use key (for AES this computes the key schedule, which
/// is why the result is cached).
pub fn build_key(algorithm: Algorithm, key: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(algorithm.ring(), key)
        .map(LessSafeKey::new)
        .map_err(|_| CoreError::EncryptionFailed)
}

/// Encrypts `in_out` in place and returns the tag separately, so callers can seal straight
/// into their output buffer behind a header.
pub fn seal_detached(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
        .map_err(|_| CoreError::EncryptionFailed)?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts `ciphertext_and_tag` in place; on success returns the plaintext prefix.
pub fn open_in_place<'a>(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    ciphertext_and_tag: &'a mut [u8],
) -> Result<&'a mut [u8]> {
    key.open_in_place(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        ciphertext_and_tag,
    )
    .map_err(|_| CoreError::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vector {
        algorithm: Algorithm,
        key: &'static str,
        nonce: &'static str,
        aad: &'static str,
        plaintext: &'static str,
        ciphertext: &'static str,
        tag: &'static str,
    }

    fn unhex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    const LADIES: &str = "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a204966204920636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73637265656e20776f756c642062652069742e";

    fn vectors() -> Vec<Vector> {
        vec![
            // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 13 (NIST CAVP
            // gcmEncryptExtIV256 has the same vector): empty plaintext, zero key and IV.
            Vector {
                algorithm: Algorithm::Aes256Gcm,
                key: "0000000000000000000000000000000000000000000000000000000000000000",
                nonce: "000000000000000000000000",
                aad: "",
                plaintext: "",
                ciphertext: "",
                tag: "530f8afbc74536b9a963b4f1c4cb738b",
            },
            // Test case 14: one zero block.
            Vector {
                algorithm: Algorithm::Aes256Gcm,
                key: "0000000000000000000000000000000000000000000000000000000000000000",
                nonce: "000000000000000000000000",
                aad: "",
                plaintext: "00000000000000000000000000000000",
                ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
                tag: "d0d1c8a799996bf0265b98b5d48ab919",
            },
            // Test case 16: 60-byte plaintext with 20 bytes of associated data.
            Vector {
                algorithm: Algorithm::Aes256Gcm,
                key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
                nonce: "cafebabefacedbaddecaf888",
                aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
                plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                tag: "76fc6ece0f4e1768cddf8853bb2d551b",
            },
            // RFC 8439 section 2.8.2.
            Vector {
                algorithm: Algorithm::ChaCha20Poly1305,
                key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
                nonce: "070000004041424344454647",
                aad: "50515253c0c1c2c3c4c5c6c7",
                plaintext: LADIES,
                ciphertext: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
                tag: "1ae10b594f09e26a7e902ecbd0600691",
            },
        ]
    }

    #[test]
    fn known_answers_seal_and_open() {
        for v in vectors() {
            let key: [u8; 32] = unhex(v.key).try_into().unwrap();
            let nonce: [u8; 12] = unhex(v.nonce).try_into().unwrap();
            let key = build_key(v.algorithm, &key).unwrap();
            let mut buffer = unhex(v.plaintext);
            let tag = seal_detached(&key, nonce, &unhex(v.aad), &mut buffer).unwrap();
            buffer.extend_from_slice(&tag);
            assert_eq!(hex::encode(&buffer), format!("{}{}", v.ciphertext, v.tag));

            let opened = open_in_place(&key, nonce, &unhex(v.aad), &mut buffer).unwrap();
            assert_eq!(hex::encode(opened), v.plaintext);
        }
    }

    #[test]
    fn known_answer_with_a_flipped_tag_bit_fails() {
        for v in vectors() {
            let key: [u8; 32] = unhex(v.key).try_into().unwrap();
            let nonce: [u8; 12] = unhex(v.nonce).try_into().unwrap();
            let key = build_key(v.algorithm, &key).unwrap();
            let mut buffer = unhex(&format!("{}{}", v.ciphertext, v.tag));
            let last = buffer.len() - 1;
            buffer[last] ^= 1;
            assert_eq!(
                open_in_place(&key, nonce, &unhex(v.aad), &mut buffer).unwrap_err(),
                CoreError::DecryptionFailed
            );
        }
    }
}
