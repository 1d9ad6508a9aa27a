//! Fuzzes bearer-token verification, `TokenService::verify`, the function every request's
//! `Authorization: Bearer` (or `X-Vault-Token`) goes through, with a fixed secret and one
//! previous secret (rotation).
//!
//! Input: a mode byte, then a JOSE header and a claims payload separated by a `0xff` byte
//! (which valid JSON never contains). Modes:
//! - 0: the rest is the token text itself; nothing the fuzzer writes unsigned may verify.
//! - 1: header and payload signed with a secret the service does not know: must not verify.
//! - 2, 3: signed with the current (2) or the previous (3) secret, as an issuer holding the
//!   secret could: whatever verifies must still pass every check `verify` promises (HS256 in
//!   the header, issuer, audience, `exp`, `nbf`, `iat`, a non-empty `jti`), the cached
//!   answer must equal the first, and a previous-secret token must not verify once that
//!   secret is dropped.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cryptoserve_server::auth::TokenService;
use libfuzzer_sys::fuzz_target;
use ring::hmac;
use serde::Deserialize;
use serde_json::Value;

const SECRET: &[u8] = b"fuzz-current-secret-0123456789abcdef";
const PREVIOUS_SECRET: &[u8] = b"fuzz-previous-secret-0123456789abcdef";
const STRANGER_SECRET: &[u8] = b"fuzz-unknown-secret-0123456789abcdef";
const ISSUER: &str = "cryptoserve";
const AUDIENCE: &str = "cryptoserve-api";
const LEEWAY_SECS: i64 = 30;

/// `base64url(header).base64url(payload).base64url(HS256(secret, signing input))`.
fn sign(secret: &[u8], header: &[u8], payload: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
    token
}

/// The two fields the checks below read, parsed as leniently as `jsonwebtoken` parses the
/// header and the claims (a derived struct: unknown fields are skipped unchecked, even strings
/// that are not UTF-8, which a `serde_json::Value` would refuse).
#[derive(Deserialize)]
struct Fields {
    alg: Option<Value>,
    nbf: Option<Value>,
}

fn rotated_service() -> TokenService {
    TokenService::new(SECRET, ISSUER, AUDIENCE).with_previous_secrets(&[PREVIOUS_SECRET])
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // A fresh service each run: a token verified in one run must not be served from the
    // cache in another.
    let service = rotated_service();
    let (token, signer) = match mode % 4 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            assert!(service.verify(text).is_err(), "an unsigned token verified");
            return;
        }
        mode => {
            let split = rest.iter().position(|&b| b == 0xff).unwrap_or(rest.len());
            let header = &rest[..split];
            let payload = rest.get(split + 1..).unwrap_or_default();
            let signer = match mode {
                1 => STRANGER_SECRET,
                2 => SECRET,
                _ => PREVIOUS_SECRET,
            };
            let token = sign(signer, header, payload);
            let header_alg = serde_json::from_slice::<Fields>(header)
                .ok()
                .and_then(|fields| fields.alg);
            let nbf = serde_json::from_slice::<Fields>(payload)
                .ok()
                .and_then(|fields| fields.nbf.as_ref().and_then(Value::as_u64));
            let before = chrono::Utc::now().timestamp();
            let outcome = service.verify(&token);
            let after = chrono::Utc::now().timestamp();
            let Ok(claims) = outcome else {
                return;
            };
            assert!(
                signer != STRANGER_SECRET,
                "a token signed by a stranger verified"
            );
            assert_eq!(
                header_alg,
                Some(Value::from("HS256")),
                "algorithm not pinned"
            );
            assert_eq!(claims.iss, ISSUER);
            assert_eq!(claims.aud, AUDIENCE);
            assert!(claims.exp + LEEWAY_SECS >= before, "expired token verified");
            assert!(claims.iat <= after + LEEWAY_SECS, "token from the future");
            if let Some(nbf) = nbf {
                assert!(nbf <= (after + LEEWAY_SECS) as u64, "token not yet valid");
            }
            assert!(!claims.jti.is_empty(), "token without an id");
            let cached = service.verify(&token);
            assert_eq!(cached.as_ref().ok(), Some(&claims), "cache disagrees");
            (token, signer)
        }
    };
    if signer == PREVIOUS_SECRET {
        let current_only = TokenService::new(SECRET, ISSUER, AUDIENCE);
        assert!(
            current_only.verify(&token).is_err(),
            "dropped secret still verifies"
        );
    }
});
