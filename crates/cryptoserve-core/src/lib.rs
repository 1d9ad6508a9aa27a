//! The pure cryptographic core of CryptoServe.
//!
//! No I/O, no environment reads, no HTTP or database types: callers hand in key material and
//! context metadata, and get envelopes back. Everything a reviewer needs to check lives here.
//!
//! Layout, in the order data flows through an encrypt call:
//! - [`master_key`]: the 32-byte [`MasterKey`] (zeroized, redacted) and its [`MasterKeyId`].
//! - [`keyring`]: the active master key plus previous ones, looked up by id, for rotation.
//! - [`context`]: [`ContextName`], [`KeyVersion`], [`GenerationId`] and [`ContextSpec`], the
//!   metadata snapshot an operation runs against (including derived and convergent settings).
//! - [`algorithm`]: the two AEADs and their stable ids.
//! - [`derive`](mod@derive): HKDF-SHA256 with the deployment [`Salt`] and an unambiguous info
//!   string, with optional generation-id and derivation-context fields.
//! - [`key_cache`]: a bounded cache of ready-to-use AEAD keys, their commitments and
//!   convergent nonce keys.
//! - [`aead`]: the thin layer over `ring` that seals and opens in place.
//! - [`nonce`]: per-thread pools of OS-random nonces (one system call per 341 messages).
//! - [`envelope`]: the versioned binary format (see `docs/ciphertext-format.md`).
//! - [`text`]: the `cs1:v<version>:<base64url>` text form for JSON APIs, and decoding of
//!   either text form.
//! - [`vault_text`]: the `vault:v<version>:<base64>` text form of the Vault-Transit-compatible
//!   API, whose base64 is read by [`go_base64`] exactly as Go (hence Vault) reads it.
//! - [`cipher`]: [`Cipher`], the engine: seal, open, rewrap, data keys, each with a
//!   [`KeyRequest`] (explicit key version, per-request derivation context).
//! - [`stream`]: streaming, chunked encryption of whole files under a data key (STREAM), for
//!   clients; the file format is in `docs/file-format.md`.
//! - [`error`]: [`CoreError`], the crate's one error type.
#![forbid(unsafe_code)]

pub mod aead;
pub mod algorithm;
pub mod cipher;
pub mod context;
pub mod derive;
pub mod envelope;
pub mod error;
pub mod go_base64;
pub mod key_cache;
pub mod keyring;
pub mod master_key;
pub mod nonce;
pub mod stream;
pub mod text;
pub mod vault_text;

pub use algorithm::Algorithm;
pub use cipher::{Cipher, DataKey, DataKeySize, KeyRequest, Sealed};
pub use context::{ContextName, ContextSpec, GenerationId, KeyVersion};
pub use derive::Salt;
pub use error::{CoreError, Result};
pub use keyring::Keyring;
pub use master_key::{MasterKey, MasterKeyId};
