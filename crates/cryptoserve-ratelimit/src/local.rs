//! [`LocalLimiter`]: GCRA in process memory, for single-node deployments and as the fallback
//! when Redis is unreachable.
//!
//! Buckets live in a fixed number of mutex-guarded shards keyed by `(dimension, key)`. A request
//! locks every shard it touches, in index order so concurrent requests cannot deadlock, which
//! makes the all-or-nothing rule atomic. Time comes from `tokio::time::Instant`, so tests can
//! pause and advance the clock. Memory is bounded: when a shard is full, buckets that are full
//! again (TAT in the past, so forgetting them changes nothing) are swept; if that frees nothing
//! the bucket nearest to full is dropped, which can only loosen a limit, never tighten it.

use std::collections::hash_map::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;
use parking_lot::{Mutex, MutexGuard};
use tokio::time::Instant;

use crate::decision::{Decision, DecisionSource};
use crate::gcra::{self, BucketState, PerBucket};
use crate::policy::{BucketName, Check, Dimension};

const SHARDS: usize = 16;
/// Default bound on remembered buckets across all shards.
pub const DEFAULT_MAX_BUCKETS: usize = 100_000;

/// One bucket: its name (with the hash it is filed under) and its theoretical arrival time.
#[derive(Debug)]
struct Bucket {
    name: BucketName,
    tat: u64,
}

/// Buckets filed by a hash computed once per check: the same hash picks the shard and the
/// slot, and a bucket that exists is read and updated in place, without copying its key.
type Shard = HashTable<Bucket>;

/// In-process GCRA limiter; cheap to clone (clones share state).
#[derive(Debug, Clone)]
pub struct LocalLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Origin of the microsecond clock; TATs are stored as offsets from it.
    epoch: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
    max_per_shard: usize,
    decisions: AtomicU64,
}

impl Default for LocalLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalLimiter {
    /// A limiter remembering at most [`DEFAULT_MAX_BUCKETS`] buckets.
    pub fn new() -> Self {
        Self::with_max_buckets(DEFAULT_MAX_BUCKETS)
    }

    /// A limiter remembering at most about `max_buckets` buckets (rounded up per shard).
    pub fn with_max_buckets(max_buckets: usize) -> Self {
        LocalLimiter {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                hasher: RandomState::new(),
                shards: (0..SHARDS).map(|_| Mutex::new(HashTable::new())).collect(),
                max_per_shard: max_buckets.div_ceil(SHARDS).max(1),
                decisions: AtomicU64::new(0),
            }),
        }
    }

    /// Decides a request of `cost` against every enabled check, all-or-nothing.
    pub fn check(&self, checks: &[Check], cost: u32) -> Decision {
        self.inner.decisions.fetch_add(1, Ordering::Relaxed);
        self.decide(checks, cost, DecisionSource::Local)
    }

    /// Like [`check`](Self::check) but labelled with `source` and not counted, for the Redis
    /// limiter's fallback path.
    pub(crate) fn decide(&self, checks: &[Check], cost: u32, source: DecisionSource) -> Decision {
        // (check, hash, shard) for each enabled check.
        let enabled: PerBucket<(&Check, u64, usize)> = checks
            .iter()
            .filter(|c| c.policy.enabled)
            .map(|c| {
                let hash = self.hash(c.dimension, &c.key);
                (c, hash, shard_of(hash))
            })
            .collect();
        if enabled.is_empty() {
            return Decision::unlimited(source);
        }
        let now = self.now_us();
        let mut order: PerBucket<usize> = enabled.iter().map(|&(_, _, shard)| shard).collect();
        order.sort_unstable();
        order.dedup();
        let mut guards: PerBucket<(usize, MutexGuard<'_, Shard>)> = order
            .iter()
            .map(|&i| (i, self.inner.shards[i].lock()))
            .collect();

        let buckets: PerBucket<BucketState> = enabled
            .iter()
            .map(|&(check, hash, shard)| {
                let tat = guard_for(&mut guards, shard)
                    .and_then(|g| g.find(hash, |b| b.name.is(check.dimension, &check.key)))
                    .map_or(0, |b| b.tat);
                BucketState {
                    dimension: check.dimension,
                    policy: check.policy,
                    ahead_us: tat.saturating_sub(now),
                }
            })
            .collect();

        let verdict = gcra::decide(&buckets, cost, source);
        for (&(check, hash, shard), ahead) in enabled.iter().zip(&verdict.new_ahead_us) {
            let Some(guard) = guard_for(&mut guards, shard) else {
                continue;
            };
            let tat = now.saturating_add(*ahead);
            if let Some(bucket) = guard.find_mut(hash, |b| b.name.is(check.dimension, &check.key)) {
                bucket.tat = tat;
                continue;
            }
            if guard.len() >= self.inner.max_per_shard {
                evict(guard, now, self.inner.max_per_shard);
            }
            guard.insert_unique(
                hash,
                Bucket {
                    name: BucketName::of(hash, check),
                    tat,
                },
                |b| b.name.hash,
            );
        }
        verdict.decision
    }

    /// Forgets a bucket, so it is full again.
    pub fn reset(&self, dimension: Dimension, key: &str) {
        let hash = self.hash(dimension, key);
        let mut shard = self.inner.shards[shard_of(hash)].lock();
        if let Ok(entry) = shard.find_entry(hash, |b| b.name.is(dimension, key)) {
            entry.remove();
        }
    }

    /// Number of buckets currently remembered.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Whether no bucket is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decisions made through [`check`](Self::check).
    pub fn decisions(&self) -> u64 {
        self.inner.decisions.load(Ordering::Relaxed)
    }

    fn now_us(&self) -> u64 {
        // +1 so a stored TAT of 0 ("no bucket") is always in the past.
        u64::try_from(self.inner.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn hash(&self, dimension: Dimension, key: &str) -> u64 {
        BucketName::hash(&self.inner.hasher, dimension, key)
    }
}

/// The shard for a hash. The table inside the shard uses the hash's low bits for the slot and
/// its top seven for the tag, so the shard takes bits from the middle, independent of both.
fn shard_of(hash: u64) -> usize {
    // The modulo keeps the value below SHARDS, so the cast cannot truncate.
    ((hash >> 32) % SHARDS as u64) as usize
}

fn guard_for<'a, 'g>(
    guards: &'a mut [(usize, MutexGuard<'g, Shard>)],
    shard: usize,
) -> Option<&'a mut MutexGuard<'g, Shard>> {
    guards.iter_mut().find(|(i, _)| *i == shard).map(|(_, g)| g)
}

/// Makes room for one bucket: drop the full ones, and if none was full, the one nearest to full.
fn evict(shard: &mut Shard, now: u64, max: usize) {
    shard.retain(|b| b.tat > now);
    if shard.len() < max {
        return;
    }
    let nearest_full = shard.iter().min_by_key(|b| b.tat).map(|b| b.name.clone());
    if let Some(name) = nearest_full {
        if let Ok(entry) = shard.find_entry(name.hash, |b| b.name.is(name.dimension, &name.key)) {
            entry.remove();
        }
    }
}
