//! The authenticated caller and the extractors that produce it.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
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
        let token = header
            .to_str()
            .ok()
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
