//! [`Cipher`]: the engine that seals, opens, rewraps and makes data keys.
//!
//! It owns the keyring, the salt and the derived-key cache. Every method is synchronous and
//! CPU-only; callers run it on their worker threads.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::aead::{self, TAG_LEN};
use crate::algorithm::Algorithm;
use crate::context::{ContextName, ContextSpec, KeyVersion};
use crate::derive::{derive_context_key, Purpose, Salt};
use crate::envelope::{self, Header, HEADER_LEN, NONCE_LEN};
use crate::error::{CoreError, Result};
use crate::key_cache::{CacheKeyRef, ContextKey, KeyCache, DEFAULT_CAPACITY};
use crate::keyring::Keyring;
use crate::master_key::MasterKey;
use crate::text;

const COMMITMENT_LABEL: &[u8] = b"cryptoserve/v1/key-commitment";

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
    /// The `cs1:v<version>:...` text form.
    pub fn to_text(&self) -> String {
        text::encode(&self.envelope, self.version)
    }
}

/// Data key sizes we hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeySize {
    /// 128-bit key.
    Bits128,
    /// 256-bit key.
    Bits256,
}

impl DataKeySize {
    /// Parses a size in bits (128 or 256).
    pub fn from_bits(bits: u32) -> Result<Self> {
        match bits {
            128 => Ok(Self::Bits128),
            256 => Ok(Self::Bits256),
            _ => Err(CoreError::InvalidDataKeySize),
        }
    }

    fn bytes(self) -> usize {
        match self {
            Self::Bits128 => 16,
            Self::Bits256 => 32,
        }
    }
}

/// A fresh data key: the plaintext bytes (zeroized on drop) and the same bytes sealed under
/// the context key.
pub struct DataKey {
    /// The key itself; hand it to the caller only if they asked for it.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The key sealed as an ordinary envelope.
    pub wrapped: Sealed,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey")
            .field("plaintext", &"[redacted]")
            .field("wrapped", &self.wrapped)
            .finish()
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

    /// Derives (or fetches from the cache) the key for one context version.
    fn context_key(
        &self,
        master: &MasterKey,
        context: &ContextName,
        version: KeyVersion,
        algorithm: Algorithm,
    ) -> Result<Arc<ContextKey>> {
        let cache_key = CacheKeyRef {
            master_key_id: master.id(),
            context: context.as_str(),
            version,
            algorithm,
        };
        self.cache.get_or_derive(cache_key, || {
            derive_uncached(master, &self.salt, context, version, algorithm)
        })
    }

    /// Seals `plaintext` under the context's current version with a fresh random nonce.
    pub fn seal(&self, spec: &ContextSpec, plaintext: &[u8], ad: &[u8]) -> Result<Sealed> {
        let nonce = crate::nonce::fresh_nonce(&self.rng)?;
        self.seal_with_nonce(spec, plaintext, ad, nonce)
    }

    /// Sealing with a caller-chosen nonce exists only so the committed test vectors can be
    /// reproduced; it is private so no production path can reuse a nonce.
    fn seal_with_nonce(
        &self,
        spec: &ContextSpec,
        plaintext: &[u8],
        ad: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Sealed> {
        let master = self.keyring.active();
        let version = spec.current_version;
        let key = self.context_key(master, &spec.name, version, spec.algorithm)?;
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

    /// Opens a binary envelope sealed for this context. Every failure is
    /// [`CoreError::DecryptionFailed`].
    pub fn open(&self, spec: &ContextSpec, envelope_bytes: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
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
            .context_key(master, &spec.name, header.version, header.algorithm)
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

    /// Opens the text form (`cs1:v<version>:...`).
    pub fn open_text(&self, spec: &ContextSpec, text_form: &str, ad: &[u8]) -> Result<Vec<u8>> {
        let bytes = text::decode(text_form)?;
        self.open(spec, &bytes, ad)
    }

    /// Re-encrypts an envelope under the context's current version and the active master key.
    /// The plaintext stays inside this call and is zeroized before returning.
    pub fn rewrap(&self, spec: &ContextSpec, envelope_bytes: &[u8], ad: &[u8]) -> Result<Sealed> {
        let plaintext = Zeroizing::new(self.open(spec, envelope_bytes, ad)?);
        self.seal(spec, &plaintext, ad)
    }

    /// Generates a random data key and seals it under the context key.
    pub fn generate_data_key(&self, spec: &ContextSpec, size: DataKeySize) -> Result<DataKey> {
        let mut plaintext = Zeroizing::new(vec![0u8; size.bytes()]);
        self.rng
            .fill(&mut plaintext)
            .map_err(|_| CoreError::RandomFailure)?;
        let wrapped = self.seal(spec, &plaintext, &[])?;
        Ok(DataKey { plaintext, wrapped })
    }

    /// Seals and opens a fixed message under a dedicated self-test context, for deep health
    /// checks. Exercises derivation, the cache, both AEADs and the envelope.
    pub fn self_test(&self) -> Result<()> {
        let name = ContextName::parse("cryptoserve.self-test")?;
        for algorithm in Algorithm::ALL {
            let spec = ContextSpec::new(name.clone(), algorithm);
            let message = b"cryptoserve self-test";
            let sealed = self.seal(&spec, message, b"health")?;
            let opened = self.open(&spec, &sealed.envelope, b"health")?;
            if opened != message {
                return Err(CoreError::DecryptionFailed);
            }
        }
        Ok(())
    }
}

fn derive_uncached(
    master: &MasterKey,
    salt: &Salt,
    context: &ContextName,
    version: KeyVersion,
    algorithm: Algorithm,
) -> Result<ContextKey> {
    let aead_key = derive_context_key(master, salt, Purpose::AeadKey, context, version, algorithm)?;
    let commitment_key = derive_context_key(
        master,
        salt,
        Purpose::KeyCommitment,
        context,
        version,
        algorithm,
    )?;
    let mut mac = Hmac::<Sha256>::new_from_slice(commitment_key.as_slice())
        .map_err(|_| CoreError::EncryptionFailed)?;
    mac.update(COMMITMENT_LABEL);
    let commitment: [u8; 32] = mac.finalize().into_bytes().into();
    Ok(ContextKey {
        aead: aead::build_key(algorithm, &aead_key)?,
        commitment,
    })
}

#[cfg(test)]
mod vectors;
