//! In-memory metadata: contexts, revoked identities and revoked tokens.
//!
//! The crypto hot path reads only this cache. A background task polls the store's change
//! counter (every `CRYPTOSERVE_CACHE_REFRESH_MS`, 1 s by default) and reloads everything when
//! it moved, so a rotation, new context or revocation made on any instance is seen by every
//! instance within one interval. If the database is down the cache keeps serving what it has,
//! and [`MetadataCache::age`] tells readiness how long ago it last saw the database.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use cryptoserve_core::{Algorithm, ContextName, ContextSpec, GenerationId, KeyVersion};
use cryptoserve_store::{ContextRecord, Store, StoreError};

/// A cached context: the spec the core needs and the record admins see.
#[derive(Debug, Clone)]
pub struct ContextEntry {
    /// What the core seals and opens against.
    pub spec: ContextSpec,
    /// The stored record.
    pub record: ContextRecord,
    /// `crypto_operations{operation, context, algorithm, outcome}` for this context, by
    /// operation and outcome (see `routes::crypto::Operation::slot`).
    pub operation_counters: crate::metrics::Resolved<8>,
}

impl ContextEntry {
    /// Converts a stored record; `None` if the row holds values the core refuses (a corrupt
    /// row is skipped rather than served).
    pub fn from_record(record: ContextRecord) -> Option<Self> {
        let name = ContextName::parse(&record.name).ok()?;
        let algorithm: Algorithm = record.algorithm.as_str().parse().ok()?;
        let current = KeyVersion::new(u32::try_from(record.current_version).ok()?).ok()?;
        let min = KeyVersion::new(u32::try_from(record.min_decryption_version).ok()?).ok()?;
        let generation = match record.generation_id.as_deref() {
            Some(hex) => Some(GenerationId::from_hex(hex).ok()?),
            None => None,
        };
        let spec = ContextSpec {
            name,
            algorithm,
            current_version: current,
            min_decryption_version: min,
            min_encryption_version: u32::try_from(record.min_encryption_version).ok()?,
            generation,
            derived: record.derived,
            convergent: record.convergent,
        };
        spec.validate().ok()?;
        Some(Self {
            spec,
            record,
            operation_counters: crate::metrics::Resolved::default(),
        })
    }
}

/// The cache.
#[derive(Debug, Default)]
pub struct MetadataCache {
    contexts: RwLock<HashMap<String, Arc<ContextEntry>>>,
    revoked_identities: RwLock<HashSet<String>>,
    revoked_tokens: RwLock<HashSet<String>>,
    seen_counter: AtomicI64,
    loaded: AtomicBool,
    last_refresh_ok: AtomicBool,
    /// When a refresh last reached the database (whether or not anything changed).
    last_success: Mutex<Option<Instant>>,
}

impl MetadataCache {
    /// An empty cache; call [`MetadataCache::refresh`] before serving.
    pub fn new() -> Self {
        Self {
            seen_counter: AtomicI64::new(i64::MIN),
            ..Self::default()
        }
    }

    /// Whether a full load has succeeded at least once.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Whether the most recent refresh reached the database.
    pub fn last_refresh_ok(&self) -> bool {
        self.last_refresh_ok.load(Ordering::Acquire)
    }

    /// Time since a refresh last reached the database, i.e. how old what this cache knows
    /// about revocations and policy changes may be; `None` before the first successful load.
    pub fn age(&self) -> Option<Duration> {
        (*self.last_success.lock()).map(|at| at.elapsed())
    }

    /// Reloads everything if the change counter moved. Returns whether it reloaded.
    pub async fn refresh(&self, store: &Store) -> Result<bool, StoreError> {
        let result = self.refresh_inner(store).await;
        if result.is_ok() {
            *self.last_success.lock() = Some(Instant::now());
        }
        self.last_refresh_ok
            .store(result.is_ok(), Ordering::Release);
        result
    }

    async fn refresh_inner(&self, store: &Store) -> Result<bool, StoreError> {
        // Read the counter first: a change landing during the load bumps it again and the next
        // poll reloads, so nothing is missed.
        let counter = store.change_counter().await?;
        if counter == self.seen_counter.load(Ordering::Acquire) {
            return Ok(false);
        }
        let contexts = store.list_contexts().await?;
        let revoked_identities = store.revoked_identity_ids().await?;
        let revoked_tokens = store.revoked_token_ids().await?;
        let contexts: HashMap<_, _> = contexts
            .into_iter()
            .filter_map(ContextEntry::from_record)
            .map(|entry| (entry.record.name.clone(), Arc::new(entry)))
            .collect();
        *self.contexts.write() = contexts;
        *self.revoked_identities.write() = revoked_identities.into_iter().collect();
        *self.revoked_tokens.write() = revoked_tokens.into_iter().collect();
        self.seen_counter.store(counter, Ordering::Release);
        self.loaded.store(true, Ordering::Release);
        Ok(true)
    }

    /// The cached context, if any.
    pub fn context(&self, name: &str) -> Option<Arc<ContextEntry>> {
        self.contexts.read().get(name).cloned()
    }

    /// The cached context, or one read from the database on a miss (a context just created on
    /// another instance is usable at once). `Ok(None)` if it does not exist.
    pub async fn context_or_load(
        &self,
        store: &Store,
        name: &str,
    ) -> Result<Option<Arc<ContextEntry>>, StoreError> {
        if let Some(entry) = self.context(name) {
            return Ok(Some(entry));
        }
        let Some(record) = store.get_context(name).await? else {
            return Ok(None);
        };
        Ok(self.put_context(record))
    }

    /// Stores a record this instance just changed, so it is visible here immediately.
    pub fn put_context(&self, record: ContextRecord) -> Option<Arc<ContextEntry>> {
        let entry = Arc::new(ContextEntry::from_record(record)?);
        self.contexts
            .write()
            .insert(entry.record.name.clone(), Arc::clone(&entry));
        Some(entry)
    }

    /// Forgets a context this instance just deleted (other instances learn via the counter).
    pub fn remove_context(&self, name: &str) {
        self.contexts.write().remove(name);
    }

    /// Names of every cached context, sorted.
    pub fn context_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.contexts.read().keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// Marks an identity revoked locally at once (other instances learn via the counter).
    pub fn revoke_identity(&self, id: &str) {
        self.revoked_identities.write().insert(id.to_owned());
    }

    /// Marks a token id revoked locally at once (other instances learn via the counter).
    pub fn revoke_token(&self, token_id: &str) {
        self.revoked_tokens.write().insert(token_id.to_owned());
    }

    /// Whether an identity or a token id is revoked.
    pub fn is_revoked(&self, identity_id: &str, token_id: &str) -> bool {
        self.revoked_identities.read().contains(identity_id)
            || self.revoked_tokens.read().contains(token_id)
    }

    /// Number of cached contexts.
    pub fn context_count(&self) -> usize {
        self.contexts.read().len()
    }
}
