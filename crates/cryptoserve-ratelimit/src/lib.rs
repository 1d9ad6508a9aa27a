//! CryptoServe rate limiting: GCRA buckets along three dimensions (IP, identity, key context),
//! exact across a cluster of CryptoServe instances because every admission is decided in Redis
//! or, for a lease, charged to Redis ahead of time.
//!
//! The crate knows nothing of HTTP or databases: the server hands it a list of [`Check`]s
//! (dimension, key, [`Policy`]) and a cost, and gets a [`Decision`] back with everything the
//! rate-limit headers need.
//!
//! # Semantics
//!
//! Each bucket runs GCRA with emission interval `T = 60 s / requests_per_minute` and burst
//! tolerance `τ = burst_size × T`. A bucket's state is its theoretical arrival time (TAT); a
//! missing bucket is full. A request of cost `n` fits a bucket iff
//! `max(TAT − now, 0) + n·T ≤ τ`, and then the bucket's TAT becomes `max(TAT, now) + n·T`.
//!
//! Consequences, which the tests pin down:
//! - a full bucket admits exactly `burst_size` cost-1 requests at once;
//! - from a full bucket, a window of length `W` admits `burst_size + ⌊W · rpm / 60 s⌋`
//!   requests, so one minute admits **`requests_per_minute + burst_size`**;
//! - a request of cost `n` counts `n`; a cost above `burst_size` fits only a full bucket and
//!   is still charged `n`, so it waits for a full bucket and the rate holds exactly.
//!
//! A request is admitted iff it fits **every enabled** dimension, and a denied request
//! consumes nothing from any dimension (all-or-nothing). Disabled policies never limit.
//! The [`Decision`]'s `limit`/`remaining`/`reset_after` describe the tightest bucket (fewest
//! remaining after the decision, or the denying one); `retry_after` is the wait after which
//! the same request would fit every bucket.
//!
//! # Backends
//!
//! - [`LocalLimiter`]: in-process, sharded, bounded; for single-node deployments, and the
//!   fallback of the Redis limiter.
//! - [`RedisLimiter`]: one Lua script decides all dimensions in one round trip using Redis's own
//!   clock (`TIME`), so instance clocks do not matter. On error or timeout (50 ms by default)
//!   the fallback decides with the policy divided by `fallback_instances`, or, with
//!   [`FailMode::Closed`], the request is denied. Checks never hang and never error. On
//!   standalone Redis, busy buckets with a large burst are also decided from short leases of
//!   tokens taken ahead of time, which keeps the limit exact (see `redis/lease.rs`).
//! - Redis Cluster (`redis-cluster://` URLs): buckets of one request are grouped by hash slot;
//!   each group is decided atomically by the same script, all groups concurrently. If any group
//!   denies, the groups that admitted are refunded. This keeps "denied consumes nothing" and
//!   never over-admits; the residual race is that a concurrent request may see a refunded take
//!   for the duration of one round trip and be denied (slight under-admission). See
//!   `docs/rate-limiting.md` for the alternatives considered.
//!
//! # Layout
//!
//! - `policy.rs`: [`Dimension`], [`Policy`], [`Check`], and the crate-internal `BucketName` the
//!   in-process tables (local buckets, leases) file buckets under.
//! - `gcra.rs`: the pure arithmetic, shared by both backends (mirrored in `redis/take_many.lua`).
//! - `decision.rs`: [`Decision`], [`DecisionSource`].
//! - `local.rs`: [`LocalLimiter`].
//! - `redis/`: [`RedisLimiter`], its scripts, the cluster round, the policy channel.
//! - `limiter.rs`: the [`Limiter`] facade the server holds.
//! - `config.rs`, `stats.rs`, `error.rs`: configuration, counters/health, the error type.
#![forbid(unsafe_code)]

mod config;
mod decision;
mod error;
mod gcra;
mod limiter;
mod local;
mod policy;
mod redis;
mod stats;

pub use config::{FailMode, RedisLimiterConfig};
pub use decision::{Decision, DecisionSource};
pub use error::{RateLimitError, Result};
pub use limiter::Limiter;
pub use local::{LocalLimiter, DEFAULT_MAX_BUCKETS};
pub use policy::{Check, Dimension, Policy};
pub use redis::{RedisLane, RedisLimiter, POLICY_CHANNEL};
pub use stats::{LimiterHealth, LimiterStats};
