//! Property tests: the parsers never panic on any input, random plaintexts and associated
//! data round-trip (plain, derived and convergent), and the two text forms and Go-compatible
//! base64 agree with each other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptoserve_core::{
    envelope, go_base64, text, vault_text, Algorithm, Cipher, ContextName, ContextSpec, CoreError,
    GenerationId, KeyRequest, KeyVersion, Keyring, MasterKey, Salt,
};
use proptest::prelude::*;

fn cipher() -> Cipher {
    Cipher::new(
        Keyring::new(MasterKey::from_bytes([42; 32])),
        Salt::new("proptest").unwrap(),
    )
}

proptest! {
    #[test]
    fn random_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = envelope::parse(&bytes);
        let spec = ContextSpec::new(ContextName::parse("p").unwrap(), Algorithm::Aes256Gcm);
        prop_assert_eq!(cipher().open(&spec, &bytes, b"").unwrap_err(), CoreError::DecryptionFailed);
    }

    #[test]
    fn random_text_never_panics(input in ".{0,200}") {
        prop_assert!(text::decode(&input).is_err());
        let _ = text::claimed_version(&input);
        let _ = ContextName::parse(&input);
        let _ = MasterKey::from_hex(&input);
    }

    #[test]
    fn envelopes_with_a_valid_header_and_random_body_are_refused(
        body in proptest::collection::vec(any::<u8>(), 16..128),
        version in 1u32..5,
    ) {
        let c = cipher();
        let spec = ContextSpec::new(ContextName::parse("p").unwrap(), Algorithm::Aes256Gcm);
        let sealed = c.seal(&spec, b"", b"").unwrap();
        let mut forged = sealed.envelope[..envelope::HEADER_LEN].to_vec();
        forged[12..16].copy_from_slice(&version.to_be_bytes());
        forged.extend_from_slice(&body);
        prop_assert!(c.open(&spec, &forged, b"").is_err());
    }

    #[test]
    fn random_plaintext_and_ad_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..4096),
        ad in proptest::collection::vec(any::<u8>(), 0..64),
        chacha in any::<bool>(),
        name in "[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}",
    ) {
        let algorithm = if chacha { Algorithm::ChaCha20Poly1305 } else { Algorithm::Aes256Gcm };
        let spec = ContextSpec::new(ContextName::parse(&name).unwrap(), algorithm);
        let c = cipher();
        let sealed = c.seal(&spec, &plaintext, &ad).unwrap();
        prop_assert_eq!(c.open_text(&spec, &sealed.to_text(), &ad).unwrap(), plaintext);
    }

    #[test]
    fn random_text_never_panics_the_vault_and_base64_decoders(input in any::<String>()) {
        let _ = go_base64::decode(&input);
        let _ = vault_text::decode(&input);
        let _ = vault_text::claimed_version(&input);
        let _ = text::decode_any(&input);
        let prefixed = format!("vault:v1:{input}");
        let _ = vault_text::decode(&prefixed);
    }

    #[test]
    fn base64_like_text_never_panics(input in "[A-Za-z0-9+/=\r\n -]{0,64}") {
        if let Err(error) = go_base64::decode(&input) {
            prop_assert!(error.offset <= input.len());
        }
        let _ = vault_text::decode(&format!("vault:v2:{input}"));
    }

    #[test]
    fn go_base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let encoded = go_base64::encode(&bytes);
        prop_assert_eq!(encoded.len() % 4, 0);
        prop_assert_eq!(go_base64::decode(&encoded).unwrap(), bytes);
    }

    #[test]
    fn newlines_anywhere_do_not_change_the_result(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        garbage in "[A-Za-z0-9+/= !-]{0,12}",
        inserts in proptest::collection::vec((any::<prop::sample::Index>(), prop_oneof![Just('\n'), Just('\r')]), 1..6),
    ) {
        for text in [go_base64::encode(&bytes), garbage] {
            let mut with_newlines = text.clone();
            for (index, newline) in &inserts {
                let at = index.index(with_newlines.len() + 1);
                with_newlines.insert(at, *newline);
            }
            prop_assert_eq!(
                go_base64::decode(&with_newlines).is_ok(),
                go_base64::decode(&text).is_ok()
            );
            if let Ok(decoded) = go_base64::decode(&text) {
                prop_assert_eq!(go_base64::decode(&with_newlines).unwrap(), decoded);
            }
        }
    }

    #[test]
    fn vault_and_native_text_decode_to_the_same_envelope(
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        version in 1u32..1000,
        newline_at in any::<prop::sample::Index>(),
    ) {
        let c = cipher();
        let spec = ContextSpec {
            current_version: KeyVersion::new(version).unwrap(),
            ..ContextSpec::new(ContextName::parse("p").unwrap(), Algorithm::Aes256Gcm)
        };
        let sealed = c.seal(&spec, &plaintext, b"").unwrap();
        let native = sealed.to_text();
        let vault = sealed.to_vault_text();
        prop_assert_eq!(text::decode_any(&native).unwrap(), sealed.envelope.clone());
        prop_assert_eq!(text::decode_any(&vault).unwrap(), sealed.envelope.clone());
        prop_assert_eq!(vault_text::decode(&vault).unwrap(), sealed.envelope.clone());
        prop_assert_eq!(text::claimed_version(&vault), Some(sealed.version));
        prop_assert_eq!(text::claimed_version(&native), Some(sealed.version));
        let payload_start = vault.len() - go_base64::encode(&sealed.envelope).len();
        let mut wrapped = vault.clone();
        wrapped.insert(payload_start + newline_at.index(vault.len() - payload_start + 1), '\n');
        prop_assert_eq!(vault_text::decode(&wrapped).unwrap(), sealed.envelope);
    }

    #[test]
    fn derived_and_convergent_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..1024),
        ad in proptest::collection::vec(any::<u8>(), 0..64),
        derivation in proptest::collection::vec(any::<u8>(), 0..64),
        other in proptest::collection::vec(any::<u8>(), 0..64),
        convergent in any::<bool>(),
        chacha in any::<bool>(),
    ) {
        let algorithm = if chacha { Algorithm::ChaCha20Poly1305 } else { Algorithm::Aes256Gcm };
        let spec = ContextSpec {
            generation: Some(GenerationId::from_hex("0123456789abcdef0123456789abcdef").unwrap()),
            derived: true,
            convergent,
            ..ContextSpec::new(ContextName::parse("tenants").unwrap(), algorithm)
        };
        let c = cipher();
        let key = KeyRequest { version: None, derivation: Some(&derivation) };
        let sealed = c.seal_with(&spec, key, &plaintext, &ad).unwrap();
        prop_assert_eq!(c.open_with(&spec, Some(&derivation), &sealed.envelope, &ad).unwrap(), plaintext.clone());
        let again = c.seal_with(&spec, key, &plaintext, &ad).unwrap();
        prop_assert_eq!(again.envelope == sealed.envelope, convergent);
        if other != derivation {
            prop_assert_eq!(
                c.open_with(&spec, Some(&other), &sealed.envelope, &ad).unwrap_err(),
                CoreError::DecryptionFailed
            );
        }
    }
}
