//! The authenticated caller and the extractors that produce it.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderValue;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use cryptoserve_store::{Role, ALL_CONTEXTS};

use super::connection::ConnectionToken;
use super::tokens::{Claims, TokenError};
use crate::error::ApiError;
use crate::state::AppState;

/// A caller whose token verified and is not revoked.
#[derive(Debug, Clone)]
pub struct Principal(pub Arc<Claims>);

impl Principal {
    /// Identity id.
    pub fn id(&self) -> &str {
        &self.0.sub
    }

    /// Whether the identity is an admin.
    pub fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }

    /// Whether the identity may use `context` for crypto operations. Admins may use every
    /// context; service identities only those listed in their token (`*` = all).
    pub fn may_use(&self, context: &str) -> bool {
        self.is_admin()
            || self
                .0
                .contexts
                .iter()
                .any(|allowed| allowed == ALL_CONTEXTS || allowed == context)
    }

    fn authenticate(req: &HttpRequest) -> Result<Self, ApiError> {
        if let Some(principal) = req.extensions().get::<Principal>() {
            return Ok(principal.clone());
        }
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "missing `Authorization: Bearer <token>` header",
            ))?;
        let token = header_text(header)
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ))?;
        let principal = Self::from_token(state, req, token)?;
        req.extensions_mut().insert(principal.clone());
        Ok(principal)
    }

    /// Verifies a bearer token (signature, algorithm, expiry) and checks revocation: the one
    /// token check behind every API, whichever header carried the token. A token the
    /// request's connection verified before is not verified again (see [`ConnectionToken`]);
    /// its expiry and revocation are.
    pub fn from_token(state: &AppState, req: &HttpRequest, token: &str) -> Result<Self, ApiError> {
        let verified = match req.conn_data::<ConnectionToken>() {
            Some(connection) => connection.verify(&state.tokens, token),
            None => state.tokens.verify(token),
        };
        let claims = verified.map_err(|error| match error {
            TokenError::Expired => ApiError::Unauthorized("token expired"),
            TokenError::Invalid => ApiError::Unauthorized("invalid token"),
        })?;
        if state.metadata.is_revoked(&claims.sub, &claims.jti) {
            return Err(ApiError::Unauthorized("token or identity revoked"));
        }
        Ok(Principal(claims))
    }
}

/// A header's value as text when it is visible ASCII (and tabs): what `HeaderValue::to_str`
/// accepts, checked with a branch-free fold that compiles to vector code where `to_str` tests
/// one byte at a time (a bearer token is a few hundred bytes, on every request).
pub(crate) fn header_text(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let invisible = bytes.iter().fold(false, |bad, &b| {
        bad | !((0x20..0x7f).contains(&b) || b == b'\t')
    });
    if invisible {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::authenticate(req))
    }
}

/// A caller with the admin role; anything else is 401 or 403.
#[derive(Debug, Clone)]
pub struct AdminPrincipal(pub Principal);

impl FromRequest for AdminPrincipal {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Principal::authenticate(req).and_then(|principal| {
            if principal.is_admin() {
                Ok(AdminPrincipal(principal))
            } else {
                Err(ApiError::Forbidden(
                    "this route needs an identity with the admin role".into(),
                ))
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_accepts_what_to_str_accepts() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"Bearer abc.def-ghi_jkl".to_vec(),
            b"Bearer \tx".to_vec(),
            b"".to_vec(),
            b"caf\xc3\xa9".to_vec(),
            b"a\x7fb".to_vec(),
            b"a\x1fb".to_vec(),
            b"\x80".to_vec(),
        ];
        samples.extend((0u8..=255).map(|b| vec![b'x', b, b'y']));
        for bytes in samples {
            let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                continue;
            };
            assert_eq!(header_text(&value), value.to_str().ok(), "{bytes:?}");
        }
    }
}
