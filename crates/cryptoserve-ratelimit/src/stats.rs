//! Counters and health the server exports as Prometheus metrics and on its health endpoint.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// A snapshot of how decisions were made since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LimiterStats {
    /// Decided by Redis (exact across instances).
    pub redis_decisions: u64,
    /// Decided by the in-process limiter of a local-mode deployment.
    pub local_decisions: u64,
    /// Decided by the fallback while Redis was unreachable (fail-open or fail-closed).
    pub fallback_decisions: u64,
    /// Of `redis_decisions`, those admitted from lease tokens taken from Redis ahead of time,
    /// without a round trip of their own.
    pub lease_decisions: u64,
    /// Redis calls that failed or timed out.
    pub redis_errors: u64,
    /// Times the Lua script had to be sent again after `NOSCRIPT` (e.g. a Redis restart).
    pub script_reloads: u64,
    /// Script runs sent to Redis. Below `redis_decisions` when concurrent checks shared a
    /// run (standalone Redis); above it in a cluster when a request spans several slots.
    pub redis_round_trips: u64,
}

/// Whether the limiter can currently do its job exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimiterHealth {
    /// `"local"`, `"redis"` or `"redis-cluster"`.
    pub mode: &'static str,
    /// Whether the Redis connection is up (always true in local mode).
    pub connected: bool,
    /// Whether the last Redis call failed, so decisions are approximate or fail-closed.
    pub degraded: bool,
    /// Round-trip time of the last successful Redis call.
    pub last_latency: Option<Duration>,
}

/// The live counters behind [`LimiterStats`] and the latency/degraded part of
/// [`LimiterHealth`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub redis_decisions: AtomicU64,
    pub lease_decisions: AtomicU64,
    pub fallback_decisions: AtomicU64,
    pub redis_errors: AtomicU64,
    pub script_reloads: AtomicU64,
    pub redis_round_trips: AtomicU64,
    /// Microseconds; `u64::MAX` means "never measured".
    last_latency_us: AtomicU64,
    degraded: AtomicBool,
}

impl Counters {
    pub fn new() -> Self {
        let counters = Counters::default();
        counters.last_latency_us.store(u64::MAX, Ordering::Relaxed);
        counters
    }

    pub fn snapshot(&self) -> LimiterStats {
        LimiterStats {
            redis_decisions: self.redis_decisions.load(Ordering::Relaxed),
            local_decisions: 0,
            lease_decisions: self.lease_decisions.load(Ordering::Relaxed),
            fallback_decisions: self.fallback_decisions.load(Ordering::Relaxed),
            redis_errors: self.redis_errors.load(Ordering::Relaxed),
            script_reloads: self.script_reloads.load(Ordering::Relaxed),
            redis_round_trips: self.redis_round_trips.load(Ordering::Relaxed),
        }
    }

    /// Records a successful round trip; returns whether we were degraded before.
    pub fn record_success(&self, latency: Duration) -> bool {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX - 1);
        self.last_latency_us.store(micros, Ordering::Relaxed);
        self.degraded.swap(false, Ordering::Relaxed)
    }

    /// Records a failed round trip; returns whether we were degraded before.
    pub fn record_error(&self) -> bool {
        self.redis_errors.fetch_add(1, Ordering::Relaxed);
        self.degraded.swap(true, Ordering::Relaxed)
    }

    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    pub fn last_latency(&self) -> Option<Duration> {
        match self.last_latency_us.load(Ordering::Relaxed) {
            u64::MAX => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
