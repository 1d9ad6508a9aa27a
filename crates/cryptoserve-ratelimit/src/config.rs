//! [`RedisLimiterConfig`]: how to reach Redis and what to do when it cannot be reached.

use std::time::Duration;

/// What a check does when Redis cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Decide in process with the policy divided by `fallback_instances`: availability first.
    #[default]
    Open,
    /// Deny everything: for deployments where an unlimited burst is worse than an outage.
    Closed,
}

/// Settings for [`RedisLimiter::connect`](crate::RedisLimiter::connect).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisLimiterConfig {
    /// `redis://[:password@]host:port`, `rediss://` for TLS, or
    /// `redis-cluster://host:port?node=host:port&node=...` for Redis Cluster.
    pub url: String,
    /// Budget for one whole check against Redis; past it the fallback decides.
    pub timeout: Duration,
    /// How many instances share the limit while Redis is down; each fallback enforces
    /// `policy / fallback_instances` (rounded up) so the fleet stays near the global limit.
    pub fallback_instances: u32,
    /// Fail open (fallback) or closed (deny) while Redis is unreachable.
    pub fail_mode: FailMode,
    /// Prepended to every bucket key, so several deployments can share one Redis.
    pub key_prefix: String,
    /// How long `connect` waits for the first connection before starting in fallback mode.
    pub connect_wait: Duration,
    /// How long tokens leased from a busy bucket may be spent in process (standalone Redis);
    /// zero decides every request in Redis. See the crate docs.
    pub lease: Duration,
}

impl RedisLimiterConfig {
    /// Defaults for everything but the URL: 50 ms timeout, 1 instance, fail open, `cs:rl:`,
    /// 50 ms leases.
    pub fn new(url: impl Into<String>) -> Self {
        RedisLimiterConfig {
            url: url.into(),
            timeout: Duration::from_millis(50),
            fallback_instances: 1,
            fail_mode: FailMode::Open,
            key_prefix: "cs:rl:".into(),
            connect_wait: Duration::from_secs(2),
            lease: Duration::from_millis(50),
        }
    }
}

impl std::fmt::Debug for RedisLimiterConfig {
    // The URL may carry a password, so it is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiterConfig")
            .field("url", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("fallback_instances", &self.fallback_instances)
            .field("fail_mode", &self.fail_mode)
            .field("key_prefix", &self.key_prefix)
            .field("connect_wait", &self.connect_wait)
            .field("lease", &self.lease)
            .finish()
    }
}
