//! Fuzzes the envelope and text parsers and the full open path: no input may panic, and no
//! input forged without the key may open.
#![no_main]

use cryptoserve_core::{
    envelope, text, Algorithm, Cipher, ContextName, ContextSpec, Keyring, MasterKey, Salt,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = envelope::parse(data);
    if let Ok(as_text) = std::str::from_utf8(data) {
        let _ = text::decode(as_text);
    }
    let cipher = Cipher::new(
        Keyring::new(MasterKey::from_bytes([1; 32])),
        Salt::new("fuzz").unwrap_or_else(|_| unreachable!()),
    );
    if let Ok(name) = ContextName::parse("fuzz") {
        let spec = ContextSpec::new(name, Algorithm::Aes256Gcm);
        assert!(cipher.open(&spec, data, b"").is_err());
    }
});
