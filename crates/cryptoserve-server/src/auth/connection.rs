//! The token last verified on a connection: a keep-alive client sends the same token with
//! every request, and its repeats skip the verified-token cache's SHA-256 and lookup.
//!
//! One [`ConnectionToken`] lives in each connection's data (installed by
//! [`ConnectionToken::install`] from `HttpServer::on_connect`). A request whose token equals the
//! connection's last one, compared in constant time (a connection from a proxy carries many
//! clients' requests one after the other), reuses that token's verified claims. Everything that
//! could have changed since is still checked on every request: expiry
//! ([`TokenService::still_valid`]) and revocation. Any other token goes through
//! [`TokenService::verify`] and then becomes the connection's last one. The copy is zeroized
//! when it is replaced and when the connection closes.

use std::cell::RefCell;
use std::sync::Arc;

use actix_web::dev::Extensions;
use zeroize::Zeroizing;

use super::tokens::{Claims, TokenError, TokenService};

/// The last verified token of one connection and its claims.
#[derive(Default)]
pub struct ConnectionToken(RefCell<Option<Last>>);

struct Last {
    token: Zeroizing<Box<[u8]>>,
    claims: Arc<Claims>,
}

impl std::fmt::Debug for ConnectionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionToken")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl ConnectionToken {
    /// For `HttpServer::on_connect`: gives the new connection its (empty) slot.
    pub fn install(_connection: &dyn std::any::Any, data: &mut Extensions) {
        data.insert(ConnectionToken::default());
    }

    /// `token`'s claims: the remembered ones if `token` is the connection's last token and
    /// has not expired since, else verified by `tokens` and remembered.
    pub fn verify(&self, tokens: &TokenService, token: &str) -> Result<Arc<Claims>, TokenError> {
        if let Some(claims) = self.last_claims(token) {
            tokens.still_valid(&claims)?;
            return Ok(claims);
        }
        let claims = tokens.verify(token)?;
        *self.0.borrow_mut() = Some(Last {
            token: Zeroizing::new(token.as_bytes().into()),
            claims: Arc::clone(&claims),
        });
        Ok(claims)
    }

    fn last_claims(&self, token: &str) -> Option<Arc<Claims>> {
        let last = self.0.borrow();
        let last = last.as_ref()?;
        // Word at a time, no early exit (a token's length is no secret: unequal at once).
        constant_time_eq::constant_time_eq(&last.token, token.as_bytes())
            .then(|| Arc::clone(&last.claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};
    use cryptoserve_store::Role;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn token(service: &TokenService, id: &str, expires_in: Duration) -> String {
        service
            .issue(id, "n", Role::Service, &[], Utc::now() + expires_in)
            .unwrap()
    }

    #[test]
    fn a_repeated_token_reuses_its_claims_and_another_is_verified() {
        let service = TokenService::new(SECRET, "cryptoserve", "cryptoserve");
        let connection = ConnectionToken::default();
        let first = token(&service, "first", Duration::hours(1));
        let claims = connection.verify(&service, &first).unwrap();
        assert_eq!(claims.sub, "first");
        let again = connection.verify(&service, &first).unwrap();
        assert!(Arc::ptr_eq(&claims, &again), "the remembered claims");

        let second = token(&service, "second", Duration::hours(1));
        assert_eq!(connection.verify(&service, &second).unwrap().sub, "second");
        assert_eq!(connection.verify(&service, &first).unwrap().sub, "first");
    }

    #[test]
    fn a_changed_or_forged_token_is_never_taken_for_the_last_one() {
        let service = TokenService::new(SECRET, "cryptoserve", "cryptoserve");
        let connection = ConnectionToken::default();
        let good = token(&service, "good", Duration::hours(1));
        connection.verify(&service, &good).unwrap();
        // Same length, one character of the signature changed.
        let mut forged = good.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            connection.verify(&service, &forged).unwrap_err(),
            TokenError::Invalid
        );
        // A prefix of the remembered token is not it either.
        assert!(connection
            .verify(&service, &good[..good.len() - 2])
            .is_err());
        assert_eq!(connection.verify(&service, &good).unwrap().sub, "good");
    }

    #[test]
    fn a_remembered_token_that_expired_is_refused() {
        let service = TokenService::new(SECRET, "cryptoserve", "cryptoserve");
        let connection = ConnectionToken::default();
        let token = token(&service, "short", Duration::hours(1));
        let claims = connection.verify(&service, &token).unwrap();
        // Pretend the token expired since: remember the same token with past claims.
        let mut expired = (*claims).clone();
        expired.exp = Utc::now().timestamp() - 3600;
        *connection.0.borrow_mut() = Some(Last {
            token: Zeroizing::new(token.as_bytes().into()),
            claims: Arc::new(expired),
        });
        assert_eq!(
            connection.verify(&service, &token).unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let service = TokenService::new(SECRET, "cryptoserve", "cryptoserve");
        let connection = ConnectionToken::default();
        let token = token(&service, "id", Duration::hours(1));
        connection.verify(&service, &token).unwrap();
        assert!(!format!("{connection:?}").contains(&token[..20]));
    }
}
