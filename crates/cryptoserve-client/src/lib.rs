//! An async client for CryptoServe's native HTTP API: one typed method per endpoint,
//! configured like the ecosystem's clients, resilient across several addresses.
//!
//! ```no_run
//! use cryptoserve_client::{Client, CryptoOptions};
//!
//! # async fn run() -> cryptoserve_client::Result<()> {
//! // CRYPTOSERVE_ADDR=http://cs-1:8003,http://cs-2:8003 and CRYPTOSERVE_TOKEN=..., or a
//! // profile in ~/.config/cryptoserve/config.toml; explicit arguments win.
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
//! ## Resilience
//! - Every attempt has a timeout (default 30 s, [`ClientBuilder::timeout`]).
//! - On `429` the client waits for `Retry-After` and sends again, at most
//!   [`RetryPolicy::max_rate_limit_waits`] times and never longer than
//!   [`RetryPolicy::max_rate_limit_wait`] at once; then it returns [`Error::RateLimited`].
//! - When an address cannot be reached, or answers 502/503/504, the call moves on to the next
//!   address, starting each call at the one that answered last.
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
//! transport, response and configuration errors.
//!
//! ## Layout
//! - `client.rs`: [`Client`] and [`ClientBuilder`]; `config.rs`: where settings come from.
//! - `transport.rs`: one call end to end (failover, waits, spans, error mapping);
//!   `retry.rs`: which calls may repeat and [`RetryPolicy`].
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
mod transport;

/// The wire types of the API (`cryptoserve-api`).
pub use cryptoserve_api as api;

pub use client::{Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use crypto::{BatchItem, BatchOutcome, CryptoOptions, DataKey, Sealed};
pub use error::{Error, Failure, Result};
pub use health::InstanceReadiness;
pub use retry::RetryPolicy;
