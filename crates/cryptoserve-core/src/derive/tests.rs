//! Known-answer tests for HKDF-SHA256 and distinctness tests for the info string and keys.

use super::*;

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

/// RFC 5869, Appendix A: test cases 1, 2 and 3 (SHA-256).
#[test]
fn rfc5869_known_answers() {
    let cases = [
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "000102030405060708090a0b0c",
            "f0f1f2f3f4f5f6f7f8f9",
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
            "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
            "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
        ),
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "",
            "",
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        ),
    ];
    for (ikm, salt, info, okm) in cases {
        let expected = unhex(okm);
        let mut out = vec![0u8; expected.len()];
        hkdf_sha256(&unhex(salt), &unhex(ikm), &unhex(info), &mut out).unwrap();
        assert_eq!(hex::encode(&out), okm);
    }
}

#[test]
fn info_strings_are_unambiguous() {
    let a = ContextName::parse("ab").unwrap();
    let b = ContextName::parse("a").unwrap();
    let v1 = KeyVersion::FIRST;
    let v2 = v1.next().unwrap();
    let g1 = GenerationId::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let g2 = GenerationId::from_hex("ffeeddccbbaa99887766554433221100").unwrap();
    let base = KeyId::new(&a, v1, Algorithm::Aes256Gcm);
    let ids = [
        base,
        KeyId::new(&b, v1, Algorithm::Aes256Gcm),
        KeyId::new(&a, v2, Algorithm::Aes256Gcm),
        KeyId::new(&a, v1, Algorithm::ChaCha20Poly1305),
        KeyId {
            generation: Some(&g1),
            ..base
        },
        KeyId {
            generation: Some(&g2),
            ..base
        },
        KeyId {
            derivation: Some(b""),
            ..base
        },
        KeyId {
            derivation: Some(b"tenant-1"),
            ..base
        },
        KeyId {
            derivation: Some(b"tenant-2"),
            ..base
        },
        KeyId {
            derivation: Some(&[TAG_GENERATION]),
            ..base
        },
        KeyId {
            generation: Some(&g1),
            derivation: Some(b""),
            ..base
        },
        KeyId {
            generation: Some(&g1),
            derivation: Some(b"tenant-1"),
            ..base
        },
    ];
    let purposes = [
        Purpose::AeadKey,
        Purpose::KeyCommitment,
        Purpose::ConvergentNonce,
    ];
    let all: Vec<Vec<u8>> = ids
        .iter()
        .flat_map(|id| purposes.map(|purpose| info(purpose, id)))
        .collect();
    for (i, x) in all.iter().enumerate() {
        for y in &all[i + 1..] {
            assert_ne!(x, y);
        }
    }
}

#[test]
fn optional_fields_are_appended_only_when_present() {
    let name = ContextName::parse("payments").unwrap();
    let base = KeyId::new(&name, KeyVersion::FIRST, Algorithm::Aes256Gcm);
    let original = info(Purpose::AeadKey, &base);
    assert_eq!(original.len(), 2 + 14 + 2 + 8 + 2 + 8 + 4 + 1);
    let generation = GenerationId::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let with_generation = info(
        Purpose::AeadKey,
        &KeyId {
            generation: Some(&generation),
            ..base
        },
    );
    assert_eq!(with_generation[..original.len()], original[..]);
    assert_eq!(
        hex::encode(&with_generation[original.len()..]),
        "010010000102030405060708090a0b0c0d0e0f"
    );
    let with_both = info(
        Purpose::AeadKey,
        &KeyId {
            generation: Some(&generation),
            derivation: Some(b"ctx"),
            ..base
        },
    );
    assert_eq!(with_both[..with_generation.len()], with_generation[..]);
    assert_eq!(
        hex::encode(&with_both[with_generation.len()..]),
        "0200000003637478"
    );
    let empty = info(
        Purpose::AeadKey,
        &KeyId {
            derivation: Some(b""),
            ..base
        },
    );
    assert_eq!(hex::encode(&empty[original.len()..]), "0200000000");
}

#[test]
fn different_inputs_give_different_keys() {
    let master = MasterKey::from_bytes([7u8; 32]);
    let salt = Salt::new("deployment-salt").unwrap();
    let other_salt = Salt::new("other-deployment").unwrap();
    let ctx = ContextName::parse("payments").unwrap();
    let other = ContextName::parse("payment").unwrap();
    let generation = GenerationId::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let v1 = KeyVersion::FIRST;
    let base_id = KeyId::new(&ctx, v1, Algorithm::Aes256Gcm);
    let base = derive_context_key(&master, &salt, Purpose::AeadKey, &base_id).unwrap();
    let variants = [
        (
            &master,
            &salt,
            Purpose::AeadKey,
            KeyId::new(&other, v1, Algorithm::Aes256Gcm),
        ),
        (
            &master,
            &salt,
            Purpose::AeadKey,
            KeyId::new(&ctx, v1.next().unwrap(), Algorithm::Aes256Gcm),
        ),
        (
            &master,
            &salt,
            Purpose::AeadKey,
            KeyId::new(&ctx, v1, Algorithm::ChaCha20Poly1305),
        ),
        (&master, &salt, Purpose::KeyCommitment, base_id),
        (&master, &salt, Purpose::ConvergentNonce, base_id),
        (&master, &other_salt, Purpose::AeadKey, base_id),
        (
            &master,
            &salt,
            Purpose::AeadKey,
            KeyId {
                generation: Some(&generation),
                ..base_id
            },
        ),
        (
            &master,
            &salt,
            Purpose::AeadKey,
            KeyId {
                derivation: Some(b""),
                ..base_id
            },
        ),
        (
            &master,
            &salt,
            Purpose::AeadKey,
            KeyId {
                derivation: Some(b"t1"),
                ..base_id
            },
        ),
    ];
    let mut keys = vec![*base];
    for (master, salt, purpose, id) in variants {
        keys.push(*derive_context_key(master, salt, purpose, &id).unwrap());
    }
    let other_master = MasterKey::from_bytes([8u8; 32]);
    keys.push(*derive_context_key(&other_master, &salt, Purpose::AeadKey, &base_id).unwrap());
    for (i, x) in keys.iter().enumerate() {
        for y in &keys[i + 1..] {
            assert_ne!(x, y);
        }
    }
}

#[test]
fn empty_salt_is_refused_and_salt_debug_is_redacted() {
    assert!(Salt::new("").is_err());
    assert_eq!(
        format!("{:?}", Salt::new("s3cret").unwrap()),
        "Salt([redacted])"
    );
}
