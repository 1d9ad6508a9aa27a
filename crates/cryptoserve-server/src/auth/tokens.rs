//! HS256 tokens: issue, verify (algorithm pinned), and cache verified ones.
//!
//! Rotation: tokens are always signed with `JWT_SECRET_KEY`; a token whose signature does not
//! match it is tried against each `JWT_PREVIOUS_SECRET_KEYS` entry in turn (same pinned
//! algorithm and claim checks, each comparison constant-time inside `jsonwebtoken`), so tokens
//! issued before a rotation keep working until they expire or the previous secret is removed.
//!
//! Verification costs an HMAC, base64 and JSON parsing; a bounded cache keyed by the SHA-256
//! of the token keeps repeat callers cheap. A cached entry is only ever returned before its
//! `exp`, and revocation is checked on every request regardless of the cache.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use cryptoserve_store::Role;

const VERIFIED_CACHE_CAPACITY: usize = 10_000;
const LEEWAY_SECS: u64 = 30;

/// The claims every CryptoServe token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Identity id.
    pub sub: String,
    /// Identity name (informational).
    pub name: String,
    /// `admin` or `service`.
    pub role: Role,
    /// Context names the identity may use; `*` = all.
    pub contexts: Vec<String>,
    /// Token id, for individual revocation.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Why a token was refused. Callers turn all of these into 401 with a short message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Expired.
    #[error("token expired")]
    Expired,
    /// Anything else: bad signature, wrong algorithm, wrong audience/issuer, malformed.
    #[error("invalid token")]
    Invalid,
}

/// Issues and verifies tokens with the deployment's `JWT_SECRET_KEY`.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Former secrets: verify only, tried after `decoding` fails on the signature.
    previous: Vec<DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    verified: Cache<[u8; 32], Arc<Claims>>,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("secret", &"[redacted]")
            .field(
                "previous_secrets",
                &format_args!("[{} redacted]", self.previous.len()),
            )
            .finish()
    }
}

impl TokenService {
    /// A service for one secret, issuer and audience.
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        // Pinned: only HS256 is accepted, whatever the token's header says.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            previous: Vec::new(),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            verified: Cache::new(VERIFIED_CACHE_CAPACITY),
        }
    }

    /// Also accepts tokens signed with any of `secrets` (`JWT_PREVIOUS_SECRET_KEYS`); they are
    /// never used to sign.
    pub fn with_previous_secrets<S: AsRef<[u8]>>(mut self, secrets: &[S]) -> Self {
        self.previous = secrets
            .iter()
            .map(|secret| DecodingKey::from_secret(secret.as_ref()))
            .collect();
        self
    }

    /// Signs a token for an identity, valid until `expires_at`.
    pub fn issue(
        &self,
        identity_id: &str,
        name: &str,
        role: Role,
        contexts: &[String],
        expires_at: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: identity_id.to_owned(),
            name: name.to_owned(),
            role,
            contexts: contexts.to_vec(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat: Utc::now().timestamp(),
            exp: expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Verifies a token (signature, algorithm, `exp`, `iat`, `iss`, `aud`).
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let now = Utc::now().timestamp();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.verified.get(&digest) {
            if unexpired(&claims, now) {
                return Ok(claims);
            }
            self.verified.remove(&digest);
            return Err(TokenError::Expired);
        }
        let data = self.decode(token).map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        let claims = data.claims;
        if claims.iat > now + LEEWAY_SECS as i64 || claims.jti.is_empty() {
            return Err(TokenError::Invalid);
        }
        let claims = Arc::new(claims);
        self.verified.insert(digest, Arc::clone(&claims));
        Ok(claims)
    }

    /// For claims verified earlier: whether they are still before their `exp` (with the same
    /// leeway as verification).
    pub fn still_valid(&self, claims: &Claims) -> Result<(), TokenError> {
        if unexpired(claims, Utc::now().timestamp()) {
            Ok(())
        } else {
            Err(TokenError::Expired)
        }
    }

    /// Decodes with the current secret, then with each previous one while the failure is the
    /// signature (any other failure, e.g. expiry, means the signature matched and is final).
    fn decode(&self, token: &str) -> jsonwebtoken::errors::Result<jsonwebtoken::TokenData<Claims>> {
        let mut outcome = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation);
        for previous in &self.previous {
            match &outcome {
                Err(error)
                    if matches!(
                        error.kind(),
                        jsonwebtoken::errors::ErrorKind::InvalidSignature
                    ) => {}
                _ => break,
            }
            outcome = jsonwebtoken::decode::<Claims>(token, previous, &self.validation);
        }
        outcome
    }
}

fn unexpired(claims: &Claims, now: i64) -> bool {
    claims.exp + LEEWAY_SECS as i64 >= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use chrono::Duration;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn service() -> TokenService {
        TokenService::new(SECRET, "cryptoserve", "cryptoserve")
    }

    fn future() -> DateTime<Utc> {
        Utc::now() + Duration::hours(1)
    }

    #[test]
    fn issued_tokens_verify() {
        let s = service();
        let token = s
            .issue("id-1", "svc", Role::Service, &["payments".into()], future())
            .unwrap();
        let claims = s.verify(&token).unwrap();
        assert_eq!(claims.sub, "id-1");
        assert_eq!(claims.contexts, vec!["payments".to_string()]);
        // Cached path gives the same answer.
        assert_eq!(s.verify(&token).unwrap(), claims);
    }

    #[test]
    fn expired_wrong_secret_audience_and_issuer_are_refused() {
        let s = service();
        let expired = s
            .issue(
                "id",
                "n",
                Role::Service,
                &[],
                Utc::now() - Duration::hours(1),
            )
            .unwrap();
        assert_eq!(s.verify(&expired).unwrap_err(), TokenError::Expired);

        let other = TokenService::new(
            b"another-secret-another-secret-xx",
            "cryptoserve",
            "cryptoserve",
        );
        let forged = other.issue("id", "n", Role::Admin, &[], future()).unwrap();
        assert_eq!(s.verify(&forged).unwrap_err(), TokenError::Invalid);

        let wrong_aud = TokenService::new(SECRET, "cryptoserve", "someone-else")
            .issue("id", "n", Role::Admin, &[], future())
            .unwrap();
        assert_eq!(s.verify(&wrong_aud).unwrap_err(), TokenError::Invalid);

        let wrong_iss = TokenService::new(SECRET, "evil", "cryptoserve")
            .issue("id", "n", Role::Admin, &[], future())
            .unwrap();
        assert_eq!(s.verify(&wrong_iss).unwrap_err(), TokenError::Invalid);
    }

    const OLD_SECRET: &[u8] = b"the-previous-secret-0123456789abcdef";

    #[test]
    fn a_previous_secret_verifies_old_tokens_but_never_signs() {
        let old = TokenService::new(OLD_SECRET, "cryptoserve", "cryptoserve");
        let old_token = old
            .issue("id-old", "n", Role::Service, &[], future())
            .unwrap();

        // Rotated: new secret, the old one as previous.
        let rotated = service().with_previous_secrets(&[
            b"unrelated-previous-secret-xxxxxxxxxx".as_slice(),
            OLD_SECRET,
        ]);
        assert_eq!(rotated.verify(&old_token).unwrap().sub, "id-old");
        // New tokens are signed with the new secret: the new-secret-only service accepts them,
        // the old-secret-only one does not.
        let new_token = rotated
            .issue("id-new", "n", Role::Admin, &[], future())
            .unwrap();
        assert_eq!(service().verify(&new_token).unwrap().sub, "id-new");
        assert_eq!(old.verify(&new_token).unwrap_err(), TokenError::Invalid);
        assert_eq!(rotated.verify(&new_token).unwrap().sub, "id-new");

        // Without the previous secret the old token is refused.
        assert_eq!(
            service().verify(&old_token).unwrap_err(),
            TokenError::Invalid
        );

        // Signed by neither: refused.
        let stranger = TokenService::new(
            b"a-third-secret-nobody-configured-xx",
            "cryptoserve",
            "cryptoserve",
        )
        .issue("id", "n", Role::Admin, &[], future())
        .unwrap();
        assert_eq!(rotated.verify(&stranger).unwrap_err(), TokenError::Invalid);

        // The previous secret still gets every other check: expiry, audience, algorithm.
        let expired = old
            .issue(
                "id",
                "n",
                Role::Service,
                &[],
                Utc::now() - Duration::hours(1),
            )
            .unwrap();
        assert_eq!(rotated.verify(&expired).unwrap_err(), TokenError::Expired);
        let wrong_aud = TokenService::new(OLD_SECRET, "cryptoserve", "someone-else")
            .issue("id", "n", Role::Admin, &[], future())
            .unwrap();
        assert_eq!(rotated.verify(&wrong_aud).unwrap_err(), TokenError::Invalid);
        assert!(!format!("{rotated:?}").contains("previous-secret"));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let s = service();
        let rotated = service().with_previous_secrets(&[OLD_SECRET]);
        let token = s.issue("id", "n", Role::Admin, &[], future()).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for alg in ["none", "HS512", "RS256"] {
            let header = b64.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            for signature in ["", "AAAA"] {
                let forged = format!("{header}.{payload}.{signature}");
                assert!(s.verify(&forged).is_err(), "{alg} accepted");
                assert!(rotated.verify(&forged).is_err(), "{alg} accepted (rotated)");
            }
        }
        assert!(s.verify("not-a-token").is_err());
        assert!(s.verify("").is_err());
    }
}
