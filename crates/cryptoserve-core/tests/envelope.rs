//! Behaviour of the engine through its public API: round trips, tampering, wrong context /
//! associated data / master key, retired versions, master key rotation, data keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptoserve_core::envelope::MIN_LEN;
use cryptoserve_core::{
    text, Algorithm, Cipher, ContextName, ContextSpec, CoreError, DataKeySize, KeyVersion, Keyring,
    MasterKey, Salt,
};

fn cipher_with(master: &MasterKey) -> Cipher {
    Cipher::new(
        Keyring::new(master.clone()),
        Salt::new("test-salt").unwrap(),
    )
}

fn spec(name: &str, algorithm: Algorithm) -> ContextSpec {
    ContextSpec::new(ContextName::parse(name).unwrap(), algorithm)
}

fn at_version(mut spec: ContextSpec, current: u32, min: u32) -> ContextSpec {
    spec.current_version = KeyVersion::new(current).unwrap();
    spec.min_decryption_version = KeyVersion::new(min).unwrap();
    spec
}

#[test]
fn round_trips_both_algorithms_empty_and_one_mebibyte_with_and_without_ad() {
    let cipher = cipher_with(&MasterKey::generate().unwrap());
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    for algorithm in Algorithm::ALL {
        let spec = spec("payments", algorithm);
        for plaintext in [&b""[..], b"x", &big] {
            for ad in [&b""[..], b"invoice-17"] {
                let sealed = cipher.seal(&spec, plaintext, ad).unwrap();
                assert_eq!(sealed.algorithm, algorithm);
                assert_eq!(sealed.envelope.len(), MIN_LEN + plaintext.len());
                assert_eq!(cipher.open(&spec, &sealed.envelope, ad).unwrap(), plaintext);
                assert_eq!(
                    cipher.open_text(&spec, &sealed.to_text(), ad).unwrap(),
                    plaintext
                );
            }
        }
    }
}

#[test]
fn nonces_are_fresh_so_equal_plaintexts_differ() {
    let cipher = cipher_with(&MasterKey::generate().unwrap());
    let spec = spec("payments", Algorithm::Aes256Gcm);
    let a = cipher.seal(&spec, b"same", b"").unwrap();
    let b = cipher.seal(&spec, b"same", b"").unwrap();
    assert_ne!(a.envelope, b.envelope);
    assert_ne!(a.envelope[16..28], b.envelope[16..28]);
}

#[test]
fn flipping_any_single_bit_fails_with_the_uniform_error() {
    let cipher = cipher_with(&MasterKey::generate().unwrap());
    for algorithm in Algorithm::ALL {
        let spec = spec("payments", algorithm);
        let sealed = cipher.seal(&spec, b"short msg", b"ad").unwrap();
        for byte in 0..sealed.envelope.len() {
            for bit in 0..8 {
                let mut tampered = sealed.envelope.clone();
                tampered[byte] ^= 1 << bit;
                assert_eq!(
                    cipher.open(&spec, &tampered, b"ad").unwrap_err(),
                    CoreError::DecryptionFailed,
                    "byte {byte} bit {bit}"
                );
            }
        }
        for len in 0..sealed.envelope.len() {
            assert_eq!(
                cipher
                    .open(&spec, &sealed.envelope[..len], b"ad")
                    .unwrap_err(),
                CoreError::DecryptionFailed
            );
        }
    }
}

#[test]
fn wrong_context_ad_master_key_or_retired_version_is_the_one_error() {
    let master = MasterKey::generate().unwrap();
    let cipher = cipher_with(&master);
    let payments = at_version(spec("payments", Algorithm::Aes256Gcm), 2, 1);
    let sealed = cipher.seal(&payments, b"secret", b"ad").unwrap();
    let uniform = CoreError::DecryptionFailed;

    let other_context = at_version(spec("payroll", Algorithm::Aes256Gcm), 2, 1);
    assert_eq!(
        cipher
            .open(&other_context, &sealed.envelope, b"ad")
            .unwrap_err(),
        uniform
    );
    assert_eq!(
        cipher
            .open(&payments, &sealed.envelope, b"other")
            .unwrap_err(),
        uniform
    );
    assert_eq!(
        cipher.open(&payments, &sealed.envelope, b"").unwrap_err(),
        uniform
    );

    let stranger = cipher_with(&MasterKey::generate().unwrap());
    assert_eq!(
        stranger
            .open(&payments, &sealed.envelope, b"ad")
            .unwrap_err(),
        uniform
    );

    let other_salt = Cipher::new(Keyring::new(master), Salt::new("other-salt").unwrap());
    assert_eq!(
        other_salt
            .open(&payments, &sealed.envelope, b"ad")
            .unwrap_err(),
        uniform
    );

    let retired = at_version(spec("payments", Algorithm::Aes256Gcm), 3, 3);
    assert_eq!(
        cipher.open(&retired, &sealed.envelope, b"ad").unwrap_err(),
        uniform
    );
    let not_yet = at_version(spec("payments", Algorithm::Aes256Gcm), 1, 1);
    assert_eq!(
        cipher.open(&not_yet, &sealed.envelope, b"ad").unwrap_err(),
        uniform
    );

    // All of them render the same message: nothing tells the checks apart.
    assert_eq!(uniform.to_string(), "decryption failed");
}

#[test]
fn header_fields_are_authenticated_even_when_still_parseable() {
    let cipher = cipher_with(&MasterKey::generate().unwrap());
    let spec = at_version(spec("payments", Algorithm::Aes256Gcm), 5, 1);
    let sealed = cipher.seal(&spec, b"secret", b"").unwrap();
    // Claim another valid version: key derivation, commitment and AAD all change.
    let mut moved = sealed.envelope.clone();
    moved[12..16].copy_from_slice(&4u32.to_be_bytes());
    assert_eq!(
        cipher.open(&spec, &moved, b"").unwrap_err(),
        CoreError::DecryptionFailed
    );
    // Claim the other algorithm.
    let mut switched = sealed.envelope.clone();
    switched[3] = Algorithm::ChaCha20Poly1305.id();
    assert_eq!(
        cipher.open(&spec, &switched, b"").unwrap_err(),
        CoreError::DecryptionFailed
    );
}

#[test]
fn rotation_keeps_old_ciphertext_readable_and_rewrap_moves_it() {
    let old_master = MasterKey::generate().unwrap();
    let new_master = MasterKey::generate().unwrap();
    let before = cipher_with(&old_master);
    let v1 = spec("payments", Algorithm::ChaCha20Poly1305);
    let old = before.seal(&v1, b"legacy record", b"").unwrap();

    // Master key rotation: the new key is active, the old one previous.
    let after = Cipher::new(
        Keyring::new(new_master.clone()).with_previous(old_master.clone()),
        Salt::new("test-salt").unwrap(),
    );
    // Context key rotation too: current version 2.
    let v2 = at_version(v1.clone(), 2, 1);
    assert_eq!(
        after.open(&v2, &old.envelope, b"").unwrap(),
        b"legacy record"
    );

    let rewrapped = after.rewrap(&v2, &old.envelope, b"").unwrap();
    assert_eq!(rewrapped.version.get(), 2);
    assert_eq!(&rewrapped.envelope[4..12], new_master.id().as_bytes());
    assert_eq!(
        after.open(&v2, &rewrapped.envelope, b"").unwrap(),
        b"legacy record"
    );

    // Once version 1 is retired and the old key dropped, only the rewrapped one opens.
    let only_new = cipher_with(&new_master);
    let v2_only = at_version(v1, 2, 2);
    assert!(only_new.open(&v2_only, &old.envelope, b"").is_err());
    assert_eq!(
        only_new.open(&v2_only, &rewrapped.envelope, b"").unwrap(),
        b"legacy record"
    );
}

#[test]
fn data_keys_are_random_and_unwrap_through_decrypt() {
    let cipher = cipher_with(&MasterKey::generate().unwrap());
    let spec = spec("files", Algorithm::Aes256Gcm);
    for (bits, len) in [(128, 16), (256, 32)] {
        let size = DataKeySize::from_bits(bits).unwrap();
        let a = cipher.generate_data_key(&spec, size).unwrap();
        let b = cipher.generate_data_key(&spec, size).unwrap();
        assert_eq!(a.plaintext.len(), len);
        assert_ne!(*a.plaintext, *b.plaintext);
        let unwrapped = cipher.open_text(&spec, &a.wrapped.to_text(), b"").unwrap();
        assert_eq!(unwrapped, *a.plaintext);
        assert!(!format!("{a:?}").contains(&format!("{:?}", &a.plaintext[..4])));
    }
    assert!(DataKeySize::from_bits(192).is_err());
}

#[test]
fn text_form_is_strict() {
    let cipher = cipher_with(&MasterKey::generate().unwrap());
    let spec = at_version(spec("payments", Algorithm::Aes256Gcm), 3, 1);
    let good = cipher.seal(&spec, b"x", b"").unwrap().to_text();
    assert!(good.starts_with("cs1:v3:"));
    assert_eq!(
        text::claimed_version(&good),
        Some(KeyVersion::new(3).unwrap())
    );
    let payload = good.trim_start_matches("cs1:v3:");
    let bad = [
        format!("cs1:v2:{payload}"),
        format!("cs1:v03:{payload}"),
        format!("cs2:v3:{payload}"),
        format!("CS1:v3:{payload}"),
        format!("cs1:v3:{payload}="),
        format!("cs1:v3: {payload}"),
        format!("cs1:v3:{}", payload.replace('-', "+").replace('_', "/")),
        format!("cs1:v:{payload}"),
        "cs1:v3:".to_string(),
        String::new(),
    ];
    for text_form in bad {
        if text_form == good {
            continue;
        }
        assert_eq!(
            cipher.open_text(&spec, &text_form, b"").unwrap_err(),
            CoreError::DecryptionFailed,
            "{text_form}"
        );
    }
}

#[test]
fn self_test_passes() {
    cipher_with(&MasterKey::generate().unwrap())
        .self_test()
        .unwrap();
}
