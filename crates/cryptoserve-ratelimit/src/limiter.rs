//! [`Limiter`]: the one type the server holds, whether it runs alone (in-process buckets) or
//! as one of many instances sharing Redis.

use crate::decision::Decision;
use crate::error::Result;
use crate::local::LocalLimiter;
use crate::policy::{Check, Dimension};
use crate::redis::{RedisLane, RedisLimiter};
use crate::stats::{LimiterHealth, LimiterStats};

/// The server's rate limiter, chosen at startup from configuration.
#[derive(Debug, Clone)]
pub enum Limiter {
    /// Single node: buckets in process memory.
    Local(LocalLimiter),
    /// Several nodes: buckets in Redis (standalone or cluster), with an in-process fallback.
    Redis(RedisLimiter),
}

impl Limiter {
    /// Decides a request of `cost` (e.g. the number of items in a batch) against every
    /// enabled check. All-or-nothing: a denied request consumes nothing. Never fails.
    pub async fn check(&self, checks: &[Check], cost: u32) -> Decision {
        self.check_on(None, checks, cost).await
    }

    /// A per-thread lane for [`check_on`](Self::check_on) (standalone Redis only; see
    /// [`RedisLane`]). Create it on the runtime that will use it.
    pub fn lane(&self) -> Option<RedisLane> {
        match self {
            Limiter::Local(_) => None,
            Limiter::Redis(redis) => redis.lane(),
        }
    }

    /// [`check`](Self::check), through this thread's `lane` when there is one.
    pub async fn check_on(
        &self,
        lane: Option<&RedisLane>,
        checks: &[Check],
        cost: u32,
    ) -> Decision {
        match self {
            Limiter::Local(local) => local.check(checks, cost),
            Limiter::Redis(redis) => redis.check_on(lane, checks, cost).await,
        }
    }

    /// Empties one bucket, so its key starts again with a full burst.
    pub async fn reset(&self, dimension: Dimension, key: &str) -> Result<()> {
        match self {
            Limiter::Local(local) => {
                local.reset(dimension, key);
                Ok(())
            }
            Limiter::Redis(redis) => redis.reset(dimension, key).await,
        }
    }

    /// Health without network I/O, for cheap readiness answers.
    pub fn health(&self) -> LimiterHealth {
        match self {
            Limiter::Local(_) => LOCAL_HEALTH,
            Limiter::Redis(redis) => redis.health(),
        }
    }

    /// Health after a ping (bounded by the check timeout).
    pub async fn probe(&self) -> LimiterHealth {
        match self {
            Limiter::Local(_) => LOCAL_HEALTH,
            Limiter::Redis(redis) => redis.probe().await,
        }
    }

    /// Decision counters since start, for Prometheus.
    pub fn stats(&self) -> LimiterStats {
        match self {
            Limiter::Local(local) => LimiterStats {
                local_decisions: local.decisions(),
                ..LimiterStats::default()
            },
            Limiter::Redis(redis) => redis.stats(),
        }
    }
}

const LOCAL_HEALTH: LimiterHealth = LimiterHealth {
    mode: "local",
    connected: true,
    degraded: false,
    last_latency: None,
};

impl From<LocalLimiter> for Limiter {
    fn from(local: LocalLimiter) -> Self {
        Limiter::Local(local)
    }
}

impl From<RedisLimiter> for Limiter {
    fn from(redis: RedisLimiter) -> Self {
        Limiter::Redis(redis)
    }
}
