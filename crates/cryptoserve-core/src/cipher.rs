//! [`Cipher`]: the engine that seals, opens, rewraps and makes data keys.
//!
//! It owns the keyring, the salt and the derived-key cache. Every method is synchronous and
//! CPU-only; callers run it on their worker threads.
//!
//! The `*_with` methods are the full API: an explicit key version to encrypt under, and the
//! per-request derivation context of derived contexts ([`KeyRequest`]). The short methods
//! (`seal`, `open`, `rewrap`, `generate_data_key`) are the same calls with the defaults, so a
//! derived context refuses them with [`CoreError::MissingDerivationContext`].
//!
//! Inside: `request` holds the rules for which key an operation may use (Vault's version
//! rules), `keys` derives a key set on a cache miss, `convergent` makes deterministic nonces
//! (and documents what that reveals), `data_key` holds the data-key types. The envelope
//! format does not change with any of these: derivation context, generation and convergence
//! only decide which key is derived, and the commitment is that key's, so an envelope opened
//! with the wrong derivation context fails the commitment check like any other wrong key.

mod convergent;
mod data_key;
mod keys;
mod request;

use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aead::{self, TAG_LEN};
use crate::algorithm::Algorithm;
use crate::context::{ContextName, ContextSpec, GenerationId, KeyVersion};
use crate::derive::{KeyId, Salt};
use crate::envelope::{self, Header, HEADER_LEN, NONCE_LEN};
use crate::error::{CoreError, Result};
use crate::key_cache::{derivation_digest, CacheKeyRef, ContextKey, KeyCache, DEFAULT_CAPACITY};
use crate::keyring::Keyring;
use crate::master_key::MasterKey;
use crate::{text, vault_text};

pub use data_key::{DataKey, DataKeySize};
pub use request::KeyRequest;

/// The result of sealing: the binary envelope and what it was sealed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The binary envelope.
    pub envelope: Vec<u8>,
    /// The context key version used.
    pub version: KeyVersion,
    /// The algorithm used.
    pub algorithm: Algorithm,
}

impl Sealed {
    /// The `cs1:v<version>:...` text form, for the native API.
    pub fn to_text(&self) -> String {
        text::encode(&self.envelope, self.version)
    }

    /// The `vault:v<version>:...` text form, for the Vault-Transit-compatible API.
    pub fn to_vault_text(&self) -> String {
        vault_text::encode(&self.envelope, self.version)
    }
}

/// The crypto engine. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct Cipher {
    keyring: Keyring,
    salt: Salt,
    cache: KeyCache,
    rng: SystemRandom,
}

impl Cipher {
    /// An engine with the default key-cache capacity.
    pub fn new(keyring: Keyring, salt: Salt) -> Self {
        Self::with_cache_capacity(keyring, salt, DEFAULT_CAPACITY)
    }

    /// An engine whose derived-key cache holds at most `capacity` keys.
    pub fn with_cache_capacity(keyring: Keyring, salt: Salt, capacity: usize) -> Self {
        Self {
            keyring,
            salt,
            cache: KeyCache::new(capacity),
            rng: SystemRandom::new(),
        }
    }

    /// The keyring in use.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Number of derived keys currently cached.
    pub fn cached_keys(&self) -> usize {
        self.cache.len()
    }

    /// Derives (or fetches from the cache) the key set for one context version. `derivation`
    /// has already been resolved by [`request::derivation_for`].
    fn context_key(
        &self,
        master: &MasterKey,
        spec: &ContextSpec,
        version: KeyVersion,
        algorithm: Algorithm,
        derivation: Option<&[u8]>,
    ) -> Result<Arc<ContextKey>> {
        let cache_key = CacheKeyRef {
            master_key_id: master.id(),
            context: spec.name.as_str(),
            version,
            algorithm,
            generation: spec.generation.map(|generation| *generation.as_bytes()),
            derivation: derivation.map(derivation_digest),
            convergent: spec.convergent,
        };
        self.cache.get_or_derive(cache_key, || {
            let key_id = KeyId {
                context: &spec.name,
                version,
                algorithm,
                generation: spec.generation.as_ref(),
                derivation,
            };
            keys::derive_uncached(master, &self.salt, &key_id, spec.convergent)
        })
    }

    /// Seals `plaintext` under the requested (default: current) version. The nonce is fresh
    /// and random, or for a convergent context derived from `ad` and `plaintext`.
    pub fn seal_with(
        &self,
        spec: &ContextSpec,
        key: KeyRequest<'_>,
        plaintext: &[u8],
        ad: &[u8],
    ) -> Result<Sealed> {
        let derivation = request::derivation_for(spec, key.derivation)?;
        let version = request::encryption_version(spec, key.version)?;
        self.seal_resolved(spec, version, derivation, plaintext, ad, None)
    }

    /// Seals once the request has been checked. `fixed_nonce` is `Some` only in the test
    /// that reproduces the committed vectors; every production path passes `None`.
    fn seal_resolved(
        &self,
        spec: &ContextSpec,
        version: KeyVersion,
        derivation: Option<&[u8]>,
        plaintext: &[u8],
        ad: &[u8],
        fixed_nonce: Option<[u8; NONCE_LEN]>,
    ) -> Result<Sealed> {
        let master = self.keyring.active();
        let key = self.context_key(master, spec, version, spec.algorithm, derivation)?;
        let nonce = match (fixed_nonce, key.nonce_key.as_ref()) {
            (Some(nonce), _) => nonce,
            (None, Some(nonce_key)) => convergent::nonce(nonce_key, ad, plaintext)?,
            (None, None) => crate::nonce::fresh_nonce(&self.rng)?,
        };
        let header = Header {
            algorithm: spec.algorithm,
            master_key_id: master.id(),
            version,
            nonce,
            commitment: key.commitment,
        }
        .encode();
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&header);
        out.extend_from_slice(plaintext);
        let tag = envelope::with_associated_data(&header, &spec.name, ad, |aad| {
            aead::seal_detached(&key.aead, nonce, aad, &mut out[HEADER_LEN..])
        })?;
        out.extend_from_slice(&tag);
        Ok(Sealed {
            envelope: out,
            version,
            algorithm: spec.algorithm,
        })
    }

    /// Opens a binary envelope sealed for this context (and, for a derived context, this
    /// derivation context). A derived context opened without one is
    /// [`CoreError::MissingDerivationContext`]; every failure about the envelope itself is
    /// [`CoreError::DecryptionFailed`].
    pub fn open_with(
        &self,
        spec: &ContextSpec,
        derivation: Option<&[u8]>,
        envelope_bytes: &[u8],
        ad: &[u8],
    ) -> Result<Vec<u8>> {
        let derivation = request::derivation_for(spec, derivation)?;
        let parsed = envelope::parse(envelope_bytes)?;
        let header = &parsed.header;
        if !spec.accepts(header.version) {
            return Err(CoreError::DecryptionFailed);
        }
        let master = self
            .keyring
            .get(header.master_key_id)
            .ok_or(CoreError::DecryptionFailed)?;
        let key = self
            .context_key(master, spec, header.version, header.algorithm, derivation)
            .map_err(|_| CoreError::DecryptionFailed)?;
        if !bool::from(key.commitment.ct_eq(&header.commitment)) {
            return Err(CoreError::DecryptionFailed);
        }
        let mut buffer = parsed.body.to_vec();
        let plaintext_len =
            envelope::with_associated_data(parsed.header_bytes, &spec.name, ad, |aad| {
                aead::open_in_place(&key.aead, header.nonce, aad, &mut buffer).map(|p| p.len())
            })?;
        buffer.truncate(plaintext_len);
        Ok(buffer)
    }

    /// Re-encrypts an envelope under `target` (default: the current version) and the active
    /// master key, with the same derivation context and associated data. `target` follows the
    /// same rules as [`Cipher::seal_with`]. The plaintext stays inside this call and is
    /// zeroized before returning.
    pub fn rewrap_with(
        &self,
        spec: &ContextSpec,
        derivation: Option<&[u8]>,
        envelope_bytes: &[u8],
        ad: &[u8],
        target: Option<KeyVersion>,
    ) -> Result<Sealed> {
        let resolved = request::derivation_for(spec, derivation)?;
        let version = request::encryption_version(spec, target)?;
        let plaintext = Zeroizing::new(self.open_with(spec, derivation, envelope_bytes, ad)?);
        self.seal_resolved(spec, version, resolved, &plaintext, ad, None)
    }

    /// Generates a random data key and seals it (without associated data) under the requested
    /// key.
    pub fn generate_data_key_with(
        &self,
        spec: &ContextSpec,
        key: KeyRequest<'_>,
        size: DataKeySize,
    ) -> Result<DataKey> {
        let mut plaintext = Zeroizing::new(vec![0u8; size.bytes()]);
        self.rng
            .fill(&mut plaintext)
            .map_err(|_| CoreError::RandomFailure)?;
        let wrapped = self.seal_with(spec, key, &plaintext, &[])?;
        Ok(DataKey { plaintext, wrapped })
    }

    /// [`Cipher::seal_with`] under the current version, without derivation context.
    pub fn seal(&self, spec: &ContextSpec, plaintext: &[u8], ad: &[u8]) -> Result<Sealed> {
        self.seal_with(spec, KeyRequest::default(), plaintext, ad)
    }

    /// [`Cipher::open_with`] without derivation context.
    pub fn open(&self, spec: &ContextSpec, envelope_bytes: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
        self.open_with(spec, None, envelope_bytes, ad)
    }

    /// Opens either text form (`cs1:v<version>:...` or `vault:v<version>:...`), without
    /// derivation context.
    pub fn open_text(&self, spec: &ContextSpec, text_form: &str, ad: &[u8]) -> Result<Vec<u8>> {
        let bytes = text::decode_any(text_form)?;
        self.open(spec, &bytes, ad)
    }

    /// [`Cipher::rewrap_with`] to the current version, without derivation context.
    pub fn rewrap(&self, spec: &ContextSpec, envelope_bytes: &[u8], ad: &[u8]) -> Result<Sealed> {
        self.rewrap_with(spec, None, envelope_bytes, ad, None)
    }

    /// [`Cipher::generate_data_key_with`] under the current version, without derivation
    /// context.
    pub fn generate_data_key(&self, spec: &ContextSpec, size: DataKeySize) -> Result<DataKey> {
        self.generate_data_key_with(spec, KeyRequest::default(), size)
    }

    /// Seals and opens a fixed message under a dedicated self-test context, for deep health
    /// checks. Exercises derivation (plain and derived-convergent with a generation id), the
    /// cache, both AEADs and the envelope.
    pub fn self_test(&self) -> Result<()> {
        let name = ContextName::parse("cryptoserve.self-test")?;
        let generation = GenerationId::from_hex("63727970746f73657276652d74657374")?;
        let message = b"cryptoserve self-test";
        for algorithm in Algorithm::ALL {
            let plain = ContextSpec::new(name.clone(), algorithm);
            let convergent = ContextSpec {
                generation: Some(generation),
                derived: true,
                convergent: true,
                ..plain.clone()
            };
            for spec in [plain, convergent] {
                let key = KeyRequest {
                    version: None,
                    derivation: Some(b"self-test"),
                };
                let sealed = self.seal_with(&spec, key, message, b"health")?;
                let opened = self.open_with(&spec, key.derivation, &sealed.envelope, b"health")?;
                if opened != message {
                    return Err(CoreError::DecryptionFailed);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod vectors;
