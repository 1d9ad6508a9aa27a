//! Fuzzes the two text forms of a ciphertext, `cs1:v<N>:<base64url>` and
//! `vault:v<N>:<base64>`, and the Go-compatible base64 under the second: no input may panic,
//! whatever decodes is an envelope of the version its prefix claims, the strict `cs1:` form
//! has exactly one spelling, and nothing decoded opens without the key.
#![no_main]

use std::sync::OnceLock;

use cryptoserve_core::{
    envelope, go_base64, text, vault_text, Algorithm, Cipher, ContextName, ContextSpec, Keyring,
    MasterKey, Salt,
};
use libfuzzer_sys::fuzz_target;

/// A cipher under a key the input cannot know, and a context to open against.
fn cipher_and_spec() -> Option<&'static (Cipher, ContextSpec)> {
    static CIPHER: OnceLock<Option<(Cipher, ContextSpec)>> = OnceLock::new();
    CIPHER
        .get_or_init(|| {
            let salt = Salt::new("fuzz").ok()?;
            let cipher = Cipher::new(Keyring::new(MasterKey::from_bytes([7; 32])), salt);
            let spec = ContextSpec::new(ContextName::parse("fuzz").ok()?, Algorithm::Aes256Gcm);
            Some((cipher, spec))
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };

    // Go's base64: an error names an offset inside the input or at its end; what decodes
    // re-encodes and decodes to the same bytes.
    match go_base64::decode(input) {
        Ok(bytes) => assert_eq!(go_base64::decode(&go_base64::encode(&bytes)), Ok(bytes)),
        Err(error) => assert!(error.offset <= input.len()),
    }

    let strict = text::decode(input);
    let vault = vault_text::decode(input);
    let any = text::decode_any(input);
    let claimed = text::claimed_version(input);

    if let Ok(bytes) = &strict {
        // One spelling per envelope: canonical decimal, canonical base64url.
        let header = envelope::parse(bytes).map(|parsed| parsed.header);
        let Ok(header) = header else {
            panic!("cs1 text decoded to a malformed envelope");
        };
        assert_eq!(text::encode(bytes, header.version), input);
        assert_eq!(claimed, Some(header.version));
    }
    if let Ok(bytes) = &vault {
        let header = envelope::parse(bytes).map(|parsed| parsed.header);
        let Ok(header) = header else {
            panic!("vault text decoded to a malformed envelope");
        };
        assert_eq!(vault_text::claimed_version(input), Some(header.version));
        assert_eq!(claimed, Some(header.version));
        let again = vault_text::encode(bytes, header.version);
        assert_eq!(vault_text::decode(&again).as_ref(), Ok(bytes));
    }
    // `decode_any` is exactly one of the two, chosen by the prefix.
    match (&strict, &vault) {
        (Ok(bytes), _) | (_, Ok(bytes)) => assert_eq!(any.as_ref(), Ok(bytes)),
        (Err(_), Err(_)) => assert!(any.is_err()),
    }

    if let (Ok(bytes), Some((cipher, spec))) = (&any, cipher_and_spec()) {
        assert!(cipher.open(spec, bytes, b"").is_err(), "forged text opened");
    }
});
