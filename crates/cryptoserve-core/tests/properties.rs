//! Property tests: the parsers never panic on any input, and random plaintexts and associated
//! data round-trip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptoserve_core::{
    envelope, text, Algorithm, Cipher, ContextName, ContextSpec, CoreError, Keyring, MasterKey,
    Salt,
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
}
