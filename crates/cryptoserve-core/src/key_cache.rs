//! A bounded cache of ready-to-use context keys.
//!
//! Deriving a key costs two HKDF runs, an HMAC and (for AES) a key-schedule expansion; the hot
//! path does none of that after the first request for a (master key, context, version,
//! algorithm). Lookups borrow the context name, so a hit allocates nothing.

use std::hash::Hash;
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Equivalent;
use ring::aead::LessSafeKey;

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
}

impl CacheKeyRef<'_> {
    fn to_owned_key(self) -> CacheKey {
        CacheKey {
            master_key_id: self.master_key_id,
            context: self.context.into(),
            version: self.version,
            algorithm: self.algorithm,
        }
    }
}

impl Equivalent<CacheKey> for CacheKeyRef<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        self.master_key_id == key.master_key_id
            && self.version == key.version
            && self.algorithm == key.algorithm
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
