//! Who is calling, and what a Transit path may name.
//!
//! The token comes from `X-Vault-Token` (what hvac, vaultrs and the CLI send) or
//! `Authorization: Bearer`; when both are present `X-Vault-Token` wins, as in Vault. It is a
//! CryptoServe identity token, checked by the same [`Principal::from_token`] as the native
//! API (signature, pinned algorithm, expiry, revocation). Capabilities map onto roles: admins
//! may do everything (Vault's root); service identities may use the keys their token lists.

use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};

use cryptoserve_core::ContextName;

use super::reply::{self, denied};
use crate::auth::principal::header_text;
use crate::auth::Principal;
use crate::state::AppState;

/// The Vault token header.
pub const VAULT_TOKEN: &str = "x-vault-token";

/// The caller, or 403 `permission denied` (Vault never answers 401).
pub fn principal(req: &HttpRequest, state: &AppState) -> Result<Principal, HttpResponse> {
    if let Some(principal) = req.extensions().get::<Principal>() {
        return Ok(principal.clone());
    }
    let refused = || reply::error(StatusCode::FORBIDDEN, "permission denied");
    let token = match req.headers().get(VAULT_TOKEN) {
        Some(value) => header_text(value).map(str::trim),
        None => req
            .headers()
            .get(AUTHORIZATION)
            .and_then(header_text)
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            }),
    }
    .filter(|token| !token.is_empty())
    .ok_or_else(refused)?;
    let principal = Principal::from_token(state, req, token).map_err(|_| refused())?;
    req.extensions_mut().insert(principal.clone());
    Ok(principal)
}

/// The caller, who must be an admin (key management, listing, mounts).
pub fn admin(req: &HttpRequest, state: &AppState) -> Result<Principal, HttpResponse> {
    let principal = principal(req, state)?;
    if principal.is_admin() {
        Ok(principal)
    } else {
        Err(denied())
    }
}

/// A key name from the path. Vault's name rule (word characters, with `-` and `.` only inside)
/// intersected with ours (1-64 of `[A-Za-z0-9._-]`, starting alphanumeric); anything else is
/// Vault's 404 "unsupported path", since such a path matches no route in Vault either.
pub fn key_name(raw: &str) -> Result<ContextName, HttpResponse> {
    let ends_ok = !raw.ends_with(['-', '.']);
    match ContextName::parse(raw) {
        Ok(name) if ends_ok => Ok(name),
        _ => Err(reply::unsupported_path()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_follow_both_rules() {
        for good in ["a_b", "x", "k-aes", "MixedCase.Name", "a1"] {
            assert!(key_name(good).is_ok(), "{good}");
        }
        for bad in [
            "-lead",
            "trail-",
            "trail.",
            "a!b",
            "MixedCase.Name@x",
            "",
            "_lead",
        ] {
            assert!(key_name(bad).is_err(), "{bad}");
        }
    }
}
