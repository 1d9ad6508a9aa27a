//! A bounded cache of ready-to-use context keys.
//!
//! Deriving a key costs two HKDF runs, an HMAC and (for AES) a key-schedule expansion; the hot
//! path does none of that after the first request for a (master key, context, version,
//! algorithm, generation, derivation context, convergence). Lookups borrow the context name,
//! so a hit allocates nothing.
//!
//! A derivation context is keyed by its SHA-256 rather than its bytes, so every entry has the
//! same small size whatever callers send and the cache stays bounded in memory; only derived
//! contexts pay for that hash, the original hot path hashes nothing extra.

use std::hash::Hash;
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Equivalent;
use ring::aead::LessSafeKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::context::KeyVersion;
use crate::master_key::MasterKeyId;

/// Default number of derived keys kept (each is a few hundred bytes).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A derived AEAD key together with its key commitment.
pub struct ContextKey {
    /// The expanded AEAD key (`ring` keeps the key schedule inside).
    pub aead: LessSafeKey,
    /// `HMAC-SHA256(commitment key, label)`, written into and checked against envelopes.
    pub commitment: [u8; 32],
    /// The HMAC key that makes convergent nonces; present only for convergent contexts, so no
    /// other context ever holds (or could misuse) it.
    pub nonce_key: Option<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for ContextKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextKey([redacted])")
    }
}

/// Owned cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    master_key_id: MasterKeyId,
    context: Box<str>,
    version: KeyVersion,
    algorithm: Algorithm,
    generation: Option<[u8; 16]>,
    derivation: Option<[u8; 32]>,
    convergent: bool,
}

/// Borrowed form of [`CacheKey`]; must hash exactly like it (same fields, same order, and
/// `Box<str>` hashes as `str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKeyRef<'a> {
    /// Which master key derived it.
    pub master_key_id: MasterKeyId,
    /// Context name.
    pub context: &'a str,
    /// Context key version.
    pub version: KeyVersion,
    /// AEAD algorithm.
    pub algorithm: Algorithm,
    /// The context's generation id, if it has one.
    pub generation: Option<[u8; 16]>,
    /// SHA-256 of the derivation context ([`derivation_digest`]), for derived contexts.
    pub derivation: Option<[u8; 32]>,
    /// Whether the entry carries a convergent nonce key.
    pub convergent: bool,
}

/// The cache's stand-in for a derivation context: fixed-size whatever its length, and
/// collision-resistant, so two contexts never share an entry.
pub fn derivation_digest(derivation: &[u8]) -> [u8; 32] {
    Sha256::digest(derivation).into()
}

impl CacheKeyRef<'_> {
    fn to_owned_key(self) -> CacheKey {
        CacheKey {
            master_key_id: self.master_key_id,
            context: self.context.into(),
            version: self.version,
            algorithm: self.algorithm,
            generation: self.generation,
            derivation: self.derivation,
            convergent: self.convergent,
        }
    }
}

impl Equivalent<CacheKey> for CacheKeyRef<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        self.master_key_id == key.master_key_id
            && self.version == key.version
            && self.algorithm == key.algorithm
            && self.generation == key.generation
            && self.derivation == key.derivation
            && self.convergent == key.convergent
            && *self.context == *key.context
    }
}

/// The bounded cache.
pub struct KeyCache {
    cache: Cache<CacheKey, Arc<ContextKey>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("len", &self.cache.len())
            .field("capacity", &self.cache.capacity())
            .finish()
    }
}

impl KeyCache {
    /// A cache holding at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            cache: Cache::new(capacity.max(1)),
        }
    }

    /// Returns the cached key or derives it with `derive` and caches it.
    pub fn get_or_derive<E>(
        &self,
        key: CacheKeyRef<'_>,
        derive: impl FnOnce() -> Result<ContextKey, E>,
    ) -> Result<Arc<ContextKey>, E> {
        if let Some(found) = self.cache.get(&key) {
            return Ok(found);
        }
        let derived = Arc::new(derive()?);
        self.cache.insert(key.to_owned_key(), Arc::clone(&derived));
        Ok(derived)
    }

    /// Number of keys currently cached.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Drops every cached key (e.g. after a master key change).
    pub fn clear(&self) {
        self.cache.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, RandomState};

    fn owned_and_borrowed_hash_alike(key: CacheKeyRef<'_>) {
        let hasher = RandomState::new();
        assert_eq!(
            hasher.hash_one(key),
            hasher.hash_one(key.to_owned_key()),
            "{key:?}"
        );
        assert!(key.equivalent(&key.to_owned_key()));
    }

    #[test]
    fn every_field_separates_entries_and_hashes_consistently() {
        let base = CacheKeyRef {
            master_key_id: MasterKeyId::from_bytes([1; 8]),
            context: "payments",
            version: KeyVersion::FIRST,
            algorithm: Algorithm::Aes256Gcm,
            generation: None,
            derivation: None,
            convergent: false,
        };
        let variants = [
            base,
            CacheKeyRef {
                generation: Some([2; 16]),
                ..base
            },
            CacheKeyRef {
                derivation: Some(derivation_digest(b"")),
                ..base
            },
            CacheKeyRef {
                derivation: Some(derivation_digest(b"t")),
                ..base
            },
            CacheKeyRef {
                convergent: true,
                ..base
            },
        ];
        for (i, x) in variants.iter().enumerate() {
            owned_and_borrowed_hash_alike(*x);
            for y in &variants[i + 1..] {
                assert!(!x.equivalent(&y.to_owned_key()));
            }
        }
    }

    #[test]
    fn a_hit_returns_the_cached_key_without_deriving() {
        let cache = KeyCache::new(4);
        let key = CacheKeyRef {
            master_key_id: MasterKeyId::from_bytes([1; 8]),
            context: "p",
            version: KeyVersion::FIRST,
            algorithm: Algorithm::Aes256Gcm,
            generation: None,
            derivation: Some(derivation_digest(b"tenant")),
            convergent: false,
        };
        let derive = || {
            let aead = crate::aead::build_key(Algorithm::Aes256Gcm, &[0; 32])?;
            Ok::<_, crate::error::CoreError>(ContextKey {
                aead,
                commitment: [0; 32],
                nonce_key: Some(Zeroizing::new([9; 32])),
            })
        };
        let first = cache.get_or_derive(key, derive).unwrap();
        let second = cache
            .get_or_derive(key, || Err(crate::error::CoreError::EncryptionFailed))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(format!("{first:?}"), "ContextKey([redacted])");
    }
}
