//! Committed envelope test vectors: fixed master key, salt and nonce → exact bytes.
//!
//! `tests/vectors/envelope-v1.json` pins the format. If this test fails, the envelope format
//! changed: that is never acceptable for format version 1 (add a new version instead).
//! Regenerate only when adding vectors: `cargo test -p cryptoserve-core print_vectors -- --ignored --nocapture`.

use serde::{Deserialize, Serialize};

use super::*;

impl Cipher {
    /// Sealing with a caller-chosen nonce exists only so the committed vectors can be
    /// reproduced; it is test-only so no production path can reuse a nonce.
    fn seal_with_nonce(
        &self,
        spec: &ContextSpec,
        plaintext: &[u8],
        ad: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Sealed> {
        let derivation = request::derivation_for(spec, None)?;
        self.seal_resolved(
            spec,
            spec.current_version,
            derivation,
            plaintext,
            ad,
            Some(nonce),
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Vector {
    description: String,
    master_key: String,
    salt: String,
    context: String,
    algorithm: String,
    version: u32,
    nonce: String,
    plaintext: String,
    associated_data: String,
    envelope: String,
    text: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct VectorFile {
    format: String,
    vectors: Vec<Vector>,
}

const FILE: &str = include_str!("../../tests/vectors/envelope-v1.json");

fn cipher_for(master_key: &str, salt: &str) -> Cipher {
    let key = MasterKey::from_hex(master_key).unwrap();
    Cipher::new(Keyring::new(key), Salt::new(salt).unwrap())
}

fn spec_for(context: &str, algorithm: &str, version: u32) -> ContextSpec {
    ContextSpec {
        name: ContextName::parse(context).unwrap(),
        algorithm: algorithm.parse().unwrap(),
        current_version: KeyVersion::new(version).unwrap(),
        min_decryption_version: KeyVersion::FIRST,
        // Contexts created before generation ids, derivation and convergence existed: their
        // keys, hence these bytes, must never change.
        min_encryption_version: 0,
        generation: None,
        derived: false,
        convergent: false,
    }
}

#[test]
fn committed_vectors_reproduce_exactly() {
    let file: VectorFile = serde_json::from_str(FILE).unwrap();
    assert_eq!(file.format, "cryptoserve envelope v1");
    assert!(file.vectors.len() >= 4);
    for v in &file.vectors {
        let cipher = cipher_for(&v.master_key, &v.salt);
        let spec = spec_for(&v.context, &v.algorithm, v.version);
        let nonce: [u8; NONCE_LEN] = hex::decode(&v.nonce).unwrap().try_into().unwrap();
        let plaintext = hex::decode(&v.plaintext).unwrap();
        let ad = hex::decode(&v.associated_data).unwrap();
        let sealed = cipher
            .seal_with_nonce(&spec, &plaintext, &ad, nonce)
            .unwrap();
        assert_eq!(
            hex::encode(&sealed.envelope),
            v.envelope,
            "{}",
            v.description
        );
        assert_eq!(sealed.to_text(), v.text, "{}", v.description);
        assert_eq!(cipher.open_text(&spec, &v.text, &ad).unwrap(), plaintext);
        // The explicit-version API names the same key for the same version.
        let key = KeyRequest {
            version: Some(spec.current_version),
            derivation: Some(b"ignored: the spec is not derived"),
        };
        let reopened = cipher.open_with(&spec, key.derivation, &sealed.envelope, &ad);
        assert_eq!(reopened.unwrap(), plaintext);
        assert_eq!(
            cipher
                .open_text(&spec, &sealed.to_vault_text(), &ad)
                .unwrap(),
            plaintext
        );
    }
}

#[test]
fn a_generation_or_derivation_changes_the_key_of_the_vector_contexts() {
    let file: VectorFile = serde_json::from_str(FILE).unwrap();
    let v = &file.vectors[0];
    let cipher = cipher_for(&v.master_key, &v.salt);
    let nonce: [u8; NONCE_LEN] = hex::decode(&v.nonce).unwrap().try_into().unwrap();
    let original = spec_for(&v.context, &v.algorithm, v.version);
    let with_generation = ContextSpec {
        generation: Some(GenerationId::from_hex("00112233445566778899aabbccddeeff").unwrap()),
        ..original.clone()
    };
    let sealed = cipher
        .seal_with_nonce(&with_generation, b"", b"", nonce)
        .unwrap();
    assert_ne!(hex::encode(&sealed.envelope), v.envelope);
    assert_eq!(
        cipher.open(&original, &sealed.envelope, b"").unwrap_err(),
        CoreError::DecryptionFailed
    );
}

/// description, context, algorithm, version, plaintext, associated data, nonce byte.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    u32,
    &'static [u8],
    &'static [u8],
    u8,
);

#[test]
#[ignore = "generator for the committed vectors; run by hand when adding vectors"]
fn print_vectors() {
    let master_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let salt = "cryptoserve-test-vectors";
    let cases: [Case; 4] = [
        (
            "AES-256-GCM, empty plaintext, no associated data",
            "payments",
            "aes-256-gcm",
            1,
            b"",
            b"",
            0x11,
        ),
        (
            "AES-256-GCM, version 3, with associated data",
            "payments",
            "aes-256-gcm",
            3,
            b"hello, world",
            b"order-42",
            0x22,
        ),
        (
            "ChaCha20-Poly1305, version 1",
            "user-pii",
            "chacha20-poly1305",
            1,
            b"The quick brown fox jumps over the lazy dog",
            b"",
            0x33,
        ),
        (
            "ChaCha20-Poly1305, version 2, with associated data",
            "user-pii",
            "chacha20-poly1305",
            2,
            b"{\"ssn\":\"000-00-0000\"}",
            b"tenant=7",
            0x44,
        ),
    ];
    let cipher = cipher_for(master_key, salt);
    let vectors = cases
        .iter()
        .map(
            |(description, context, algorithm, version, plaintext, ad, nonce_byte)| {
                let spec = spec_for(context, algorithm, *version);
                let nonce = [*nonce_byte; NONCE_LEN];
                let sealed = cipher.seal_with_nonce(&spec, plaintext, ad, nonce).unwrap();
                Vector {
                    description: description.to_string(),
                    master_key: master_key.to_string(),
                    salt: salt.to_string(),
                    context: context.to_string(),
                    algorithm: algorithm.to_string(),
                    version: *version,
                    nonce: hex::encode(nonce),
                    plaintext: hex::encode(plaintext),
                    associated_data: hex::encode(ad),
                    envelope: hex::encode(&sealed.envelope),
                    text: sealed.to_text(),
                }
            },
        )
        .collect();
    let file = VectorFile {
        format: "cryptoserve envelope v1".to_string(),
        vectors,
    };
    println!("{}", serde_json::to_string_pretty(&file).unwrap());
}
