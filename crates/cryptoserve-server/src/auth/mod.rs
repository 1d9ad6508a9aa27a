//! Identities and their tokens.
//!
//! - `tokens.rs`: issuing and verifying HS256 JWTs (algorithm pinned; `exp`, `iat`, `aud`,
//!   `iss`, `sub`, `jti` required), with a small cache of verified tokens.
//! - `connection.rs`: the token last verified on a connection ([`ConnectionToken`]), so a
//!   keep-alive client's repeated token skips the cache's hashing.
//! - `principal.rs`: the authenticated caller ([`Principal`]) and the actix extractors that
//!   produce it ([`Principal`] for crypto routes, [`AdminPrincipal`] for admin routes).
//! - `identities.rs`: creating an identity and its first token — shared by the CLI and the
//!   admin API so both behave the same.

pub mod connection;
pub mod identities;
pub mod principal;
pub mod tokens;

pub use connection::ConnectionToken;
pub use principal::{AdminPrincipal, Principal};
pub use tokens::{Claims, TokenService};
