//! An async client for CryptoServe's native HTTP API: one typed method per endpoint,
//! configured like the ecosystem's clients, resilient across several addresses.
//!
//! ```no_run
//! use cryptoserve_client::{Client, CryptoOptions};
//!
//! # async fn run() -> cryptoserve_client::Result<()> {
//! // CRYPTOSERVE_ADDR=https://cs-1:8003,https://cs-2:8003, CRYPTOSERVE_TOKEN=... and
//! // CRYPTOSERVE_CACERT=ca.crt, or a profile in ~/.config/cryptoserve/config.toml;
//! // explicit arguments win.
//! let client = Client::builder().build()?;
//!
//! let sealed = client
//!     .encrypt_with("payments", b"card 4111", CryptoOptions::associated_data(b"order-42"))
//!     .await?;
//! let plaintext = client
//!     .decrypt_with("payments", &sealed.ciphertext, CryptoOptions::associated_data(b"order-42"))
//!     .await?;
//! assert_eq!(plaintext, b"card 4111");
//!
//! match client.decrypt("payments", "cs1:v1:tampered").await {
//!     Err(cryptoserve_client::Error::DecryptionFailed(failure)) => {
//!         eprintln!("refused; request id {:?}", failure.request_id)
//!     }
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Configuration
//! [`ClientBuilder`] arguments win over the environment (`CRYPTOSERVE_ADDR`, comma-separated
//! base URLs; `CRYPTOSERVE_TOKEN` or `CRYPTOSERVE_TOKEN_FILE`; `CRYPTOSERVE_PROFILE`), which
//! wins over `[profiles.<name>]` in `~/.config/cryptoserve/config.toml` (see [`config`]).
//! The token is a [`secrecy::SecretString`]: zeroized on drop, `[redacted]` in `Debug`.
//!
//! ## TLS
//! `https://` addresses are verified with rustls (ring provider). Without a CA file the
//! built-in web roots are trusted; with one (`CRYPTOSERVE_CACERT`,
//! [`ClientBuilder::ca_cert_file`], a profile's `cacert`) only the CA certificates in that
//! PEM file are, like `curl --cacert` or `VAULT_CACERT`. For mutual TLS the client presents
//! `CRYPTOSERVE_CLIENT_CERT` with its key `CRYPTOSERVE_CLIENT_KEY`
//! ([`ClientBuilder::client_cert_file`], [`ClientBuilder::client_key_file`]). The files are
//! read when the client is built: an unreadable or unusable one, or a key that does not match
//! its certificate, is an [`Error::TlsFile`] naming the file (never quoting a key).
//!
//! A failed handshake is an [`Error::Tls`] whose [`TlsFailure`] says why (unknown issuer,
//! expired, wrong host, client certificate required or refused, ...) and whose message reads
//! e.g. `TLS handshake with https://cs-1:8003/ failed: invalid peer certificate:
//! UnknownIssuer (the server's certificate is not signed by a trusted CA; ...)`. It is not
//! transient: the call may move on to the next address (the server never read the request)
//! but is never repeated at the same one.
//!
//! ## Resilience
//! - Every attempt has a timeout (default 30 s, [`ClientBuilder::timeout`]).
//! - On `429` the client waits for `Retry-After` and sends again, at most
//!   [`RetryPolicy::max_rate_limit_waits`] times and never longer than
//!   [`RetryPolicy::max_rate_limit_wait`] at once; then it returns [`Error::RateLimited`].
//! - When an address cannot be reached, refuses the TLS handshake, or answers 502/503/504,
//!   the call moves on to the next address, starting each call at the one that answered last;
//!   each address is tried at most once per call.
//! - Only calls safe to repeat (encrypt, decrypt, rewrap, datakey, the batch forms and every
//!   `GET`) are sent again once they may have reached a server; admin writes move on only
//!   when no connection was made, so they never take effect twice.
//! - Each attempt runs in a `cryptoserve.request` tracing span (method, path, attempt,
//!   address, request id); each retry logs a warning with its reason.
//!
//! ## Errors
//! [`Error`] has one variant per stable server `code` (`DecryptionFailed`, `RateLimited`,
//! `Unauthorized`, `UnknownContext`, ...), each carrying a [`Failure`] with the message and
//! the request id (each request sends an `X-Request-ID`; the server's echo is kept), plus
//! transport, TLS, response and configuration errors.
//!
//! ## Layout
//! - `client.rs`: [`Client`] and [`ClientBuilder`]; `config.rs`: where settings come from.
//! - `transport.rs`: one call end to end (failover, waits, spans, error mapping);
//!   `retry.rs`: which calls may repeat and [`RetryPolicy`]; `tls.rs`: the CA and client
//!   certificate files, and [`TlsFailure`] from a failed handshake.
//! - `crypto.rs`, `contexts.rs`, `identities.rs`, `rate_limits.rs`, `audit.rs` (with usage),
//!   `health.rs`: the endpoint methods, one family per file.
//! - `error.rs`: [`Error`] and [`Failure`].
//!
//! Request and response bodies are the server's own types, from `cryptoserve-api`
//! (re-exported as [`api`]).
#![forbid(unsafe_code)]

mod audit;
mod client;
pub mod config;
mod contexts;
mod crypto;
mod error;
mod health;
mod identities;
mod rate_limits;
mod retry;
mod tls;
mod transport;

/// The wire types of the API (`cryptoserve-api`).
pub use cryptoserve_api as api;

pub use client::{Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use crypto::{BatchItem, BatchOutcome, CryptoOptions, DataKey, Sealed};
pub use error::{Error, Failure, Result};
pub use health::InstanceReadiness;
pub use retry::RetryPolicy;
pub use tls::TlsFailure;
