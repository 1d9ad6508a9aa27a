//! [`RedisLimiter`]: exact limits shared by every instance, decided in Redis.
//!
//! - `batch.rs`: standalone Redis; concurrent checks share one `take_many.lua` run.
//! - `lane.rs`: a worker thread's own connection and batcher, so checks stay on the thread.
//! - `lease.rs`: tokens a batcher takes ahead of time on busy buckets, so requests for them
//!   are admitted without a round trip while the limit stays exact.
//! - `round.rs`: Redis Cluster; one request → take script per hash-slot group, refund on
//!   partial denial.
//! - `script.rs`: the Lua scripts (`take_many.lua`, `refund.lua`), the take's arguments, and
//!   `EVALSHA`/`NOSCRIPT` handling.
//! - `pubsub.rs`: the policy-change channel.
//! - `forward.rs`: forward-only values (the server's audit checkpoint) on the same connection.
//!
//! Every check runs under one timeout; on error or timeout the in-process fallback (or the
//! fail-closed denial) answers instead, so a check never hangs and never errors. fred's
//! reconnect policy keeps reconnecting in the background, and the next check after it succeeds
//! is decided by Redis again.

mod batch;
mod forward;
mod lane;
mod lease;
mod pubsub;
mod round;
mod script;

use std::sync::Arc;
use std::time::Duration;

use fred::clients::Client;
use fred::interfaces::{ClientLike, KeysInterface, PubsubInterface};
use fred::types::config::{Config, Options, ReconnectPolicy};
use fred::types::Builder;
use tokio::sync::broadcast;
use tokio::time::{timeout, Instant};

pub use lane::RedisLane;
pub use pubsub::POLICY_CHANNEL;

use crate::config::{FailMode, RedisLimiterConfig};
use crate::decision::{Decision, DecisionSource};
use crate::error::{RateLimitError, Result};
use crate::local::LocalLimiter;
use crate::policy::{Check, Dimension};
use crate::stats::{Counters, LimiterHealth, LimiterStats};
use batch::Batcher;
use pubsub::PolicyChannel;
use round::{decision_from, Round};
use script::{bucket_key, LuaScript};

/// Shared-state limiter backed by Redis or Redis Cluster; cheap to clone.
#[derive(Debug, Clone)]
pub struct RedisLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    /// Builds the connections of [`RedisLane`]s.
    builder: Builder,
    /// Per-command options: fail fast while disconnected, one attempt, the check timeout.
    options: Options,
    cluster: bool,
    config: RedisLimiterConfig,
    fallback: LocalLimiter,
    counters: Arc<Counters>,
    /// Standalone Redis only: the queue concurrent checks share script runs through.
    batcher: Option<Batcher>,
    take: LuaScript,
    refund: LuaScript,
    policies: PolicyChannel,
}

impl RedisLimiter {
    /// Connects to `config.url`. Waits at most `config.connect_wait` for the first
    /// connection; if Redis is down, starts anyway (checks fall back) and keeps reconnecting.
    /// Fails only on an invalid URL.
    pub async fn connect(config: RedisLimiterConfig) -> Result<RedisLimiter> {
        let mut fred_config = Config::from_url(&config.url)
            .map_err(|e| RateLimitError::InvalidUrl(e.details().to_owned()))?;
        // Run the reconnect policy on the first connection too instead of failing.
        fred_config.fail_fast = false;
        let cluster = fred_config.server.is_clustered();

        let mut builder = Builder::from_config(fred_config);
        builder
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(1);
                c.internal_command_timeout = Duration::from_secs(1);
                c.max_command_attempts = 1;
            })
            // Unlimited attempts, 50 ms doubling to at most 1 s: back within ~1 s of Redis.
            .set_policy(ReconnectPolicy::new_exponential(0, 50, 1_000, 2));
        let client = builder.build()?;
        let policies = PolicyChannel::start(&builder)?;
        drop(client.connect());

        let options = Options {
            fail_fast: true,
            max_attempts: Some(1),
            timeout: Some(config.timeout),
            ..Options::default()
        };
        let counters = Arc::new(Counters::new());
        let batcher = (!cluster).then(|| {
            Batcher::start(
                client.clone(),
                options.clone(),
                config.key_prefix.clone(),
                Arc::clone(&counters),
                config.lease,
                false,
            )
        });
        let limiter = RedisLimiter {
            inner: Arc::new(Inner {
                client,
                builder,
                options,
                cluster,
                fallback: LocalLimiter::new(),
                counters,
                batcher,
                take: LuaScript::new(script::TAKE_MANY),
                refund: LuaScript::new(script::REFUND),
                policies,
                config,
            }),
        };
        limiter.wait_for_first_connection().await;
        Ok(limiter)
    }

    async fn wait_for_first_connection(&self) {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.config.connect_wait;
        while !inner.client.is_connected() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if !inner.client.is_connected() {
            tracing::warn!("redis unreachable at start; rate limiting in fallback mode");
            return;
        }
        if !inner.policies.wait_subscribed(deadline).await {
            tracing::warn!(
                "policy channel not subscribed yet; changes arrive by periodic reload until it is"
            );
        }
        // Preloading only saves the first request a round trip; in a cluster the other
        // primaries learn the scripts through the NOSCRIPT path.
        let load = async {
            inner.take.load(&inner.client, None).await?;
            inner.refund.load(&inner.client, None).await.map(drop)
        };
        if let Err(error) = timeout(inner.config.connect_wait, load)
            .await
            .unwrap_or(Err(RateLimitError::Timeout(inner.config.connect_wait)))
        {
            tracing::warn!(%error, "could not preload rate limit scripts; will load on first use");
        }
    }

    /// Decides a request of `cost` against every enabled check, all-or-nothing. Never fails:
    /// Redis errors and timeouts are answered by the fallback (or denied when fail-closed).
    pub async fn check(&self, checks: &[Check], cost: u32) -> Decision {
        self.check_on(None, checks, cost).await
    }

    /// A lane for the current thread's runtime: its own connection and batcher, so checks
    /// made on this thread through it never hop to another thread. `None` on Redis Cluster
    /// (requests there go to several nodes) or if the client cannot be built. Call it inside
    /// the thread's `LocalSet` (an actix worker runs one), where the lane's tasks are spawned.
    pub fn lane(&self) -> Option<RedisLane> {
        if self.inner.cluster {
            return None;
        }
        RedisLane::start(self)
            .inspect_err(|error| tracing::warn!(%error, "could not start a redis lane"))
            .ok()
    }

    /// [`check`](Self::check) through `lane` while its connection is up, else through the
    /// shared connection. Use a lane only on the runtime it was created on.
    pub async fn check_on(
        &self,
        lane: Option<&RedisLane>,
        checks: &[Check],
        cost: u32,
    ) -> Decision {
        let inner = &self.inner;
        let enabled: Vec<&Check> = checks.iter().filter(|c| c.policy.enabled).collect();
        if enabled.is_empty() {
            return Decision::unlimited(DecisionSource::Redis);
        }
        let started = Instant::now();
        let batcher = lane.and_then(RedisLane::batcher).or(inner.batcher.as_ref());
        let decided = match batcher {
            Some(batcher) => {
                let batched = async {
                    let reply = batcher.decide(&enabled, cost).await?;
                    let decision = decision_from(&enabled, cost, reply.allowed, &reply.ahead_us);
                    Ok((decision, reply.leased))
                };
                timeout(inner.config.timeout, batched).await
            }
            None => {
                let client = inner.client.with_options(&inner.options);
                let round = Round {
                    client: &client,
                    take: &inner.take,
                    refund: &inner.refund,
                    counters: &inner.counters,
                    key_prefix: &inner.config.key_prefix,
                };
                let decided = async { Ok((round.decide(&enabled, cost).await?, false)) };
                timeout(inner.config.timeout, decided).await
            }
        };
        let error = match decided {
            Ok(Ok((decision, leased))) => {
                if leased {
                    // No round trip: nothing to say about Redis's latency or health.
                    Counters::bump(&inner.counters.lease_decisions);
                } else if inner.counters.record_success(started.elapsed()) {
                    tracing::info!("redis rate limiting recovered");
                }
                Counters::bump(&inner.counters.redis_decisions);
                return decision;
            }
            Ok(Err(error)) => error,
            Err(_) => RateLimitError::Timeout(inner.config.timeout),
        };
        if inner.counters.record_error() {
            tracing::debug!(%error, "redis rate limit check failed");
        } else {
            tracing::warn!(%error, "redis rate limiting degraded; using fallback");
        }
        self.fall_back(&enabled, cost)
    }

    fn fall_back(&self, enabled: &[&Check], cost: u32) -> Decision {
        let inner = &self.inner;
        Counters::bump(&inner.counters.fallback_decisions);
        match inner.config.fail_mode {
            FailMode::Closed => Decision::fail_closed(
                enabled
                    .iter()
                    .map(|c| c.policy.requests_per_minute)
                    .min()
                    .unwrap_or(0),
            ),
            FailMode::Open => {
                let divided: Vec<Check> = enabled
                    .iter()
                    .map(|c| Check {
                        policy: c.policy.divided_by(inner.config.fallback_instances),
                        ..(*c).clone()
                    })
                    .collect();
                inner
                    .fallback
                    .decide(&divided, cost, DecisionSource::Fallback)
            }
        }
    }

    /// Empties one bucket in Redis and in the fallback, e.g. after an operator unblocks a
    /// client. The fallback is always reset; the error says whether Redis was.
    pub async fn reset(&self, dimension: Dimension, key: &str) -> Result<()> {
        let inner = &self.inner;
        inner.fallback.reset(dimension, key);
        let probe = Check::new(dimension, key, crate::Policy::default_for(dimension));
        let redis_key = bucket_key(&inner.config.key_prefix, &probe);
        let client = inner.client.with_options(&inner.options);
        timeout(inner.config.timeout, client.del::<i64, _>(redis_key))
            .await
            .map_err(|_| RateLimitError::Timeout(inner.config.timeout))??;
        Ok(())
    }

    /// The current health, without touching the network.
    pub fn health(&self) -> LimiterHealth {
        let inner = &self.inner;
        let connected = inner.client.is_connected();
        LimiterHealth {
            mode: if inner.cluster {
                "redis-cluster"
            } else {
                "redis"
            },
            connected,
            degraded: !connected || inner.counters.degraded(),
            last_latency: inner.counters.last_latency(),
        }
    }

    /// Pings Redis (within the check timeout), records the outcome, and returns the health.
    pub async fn probe(&self) -> LimiterHealth {
        let inner = &self.inner;
        let client = inner.client.with_options(&inner.options);
        let started = Instant::now();
        // The probe moves the same degraded flag as decisions do, so it logs the same
        // transitions: every "degraded" line has its "recovered" line, whichever path saw it.
        match timeout(inner.config.timeout, client.ping::<String>(None)).await {
            Ok(Ok(_)) => {
                if inner.counters.record_success(started.elapsed()) {
                    tracing::info!("redis rate limiting recovered");
                }
            }
            Ok(Err(error)) => {
                if !inner.counters.record_error() {
                    tracing::warn!(%error, "redis rate limiting degraded; using fallback");
                }
            }
            Err(_) => {
                if !inner.counters.record_error() {
                    let error = RateLimitError::Timeout(inner.config.timeout);
                    tracing::warn!(%error, "redis rate limiting degraded; using fallback");
                }
            }
        }
        self.health()
    }

    /// Decision counters since start.
    pub fn stats(&self) -> LimiterStats {
        self.inner.counters.snapshot()
    }

    /// Tells every instance (including this one) that policies changed.
    pub async fn publish_policy_change(&self, payload: &str) -> Result<()> {
        let inner = &self.inner;
        let client = inner.client.with_options(&inner.options);
        timeout(
            inner.config.timeout,
            client.publish::<i64, _, _>(POLICY_CHANNEL, payload),
        )
        .await
        .map_err(|_| RateLimitError::Timeout(inner.config.timeout))??;
        Ok(())
    }

    /// A receiver of every policy-change payload published after this call.
    pub fn subscribe_policy_changes(&self) -> broadcast::Receiver<String> {
        self.inner.policies.receiver()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.policies.shutdown();
        if let Some(batcher) = &self.batcher {
            batcher.shutdown();
        }
        quit_in_background(self.client.clone());
    }
}

/// Closes a connection without waiting (for `Drop`): sends QUIT from a task if a runtime is
/// still there; otherwise the connection dies with the runtime.
pub(crate) fn quit_in_background<C: ClientLike + Send + 'static>(client: C) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = client.quit().await;
        });
    }
}
