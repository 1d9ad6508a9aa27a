//! [`RedisLane`]: a thread's own connection and batcher, so its checks never leave the thread.
//!
//! A server whose workers each run a single-threaded runtime (actix-web) would otherwise send
//! every check to the runtime that owns the shared connection and get the answer back from it:
//! two cross-thread wake-ups per request, which cost more CPU than the Redis command itself.
//! A lane is created on the worker's runtime, so its connection's reader and writer, its
//! dispatcher and the request all run on one thread and the hand-offs are plain task wake-ups.
//! Its dispatcher and script runs are spawned on the worker's `LocalSet`, beside the request
//! handlers: a run that answers a batch wakes them inside the set, while a task outside it
//! (on the bare runtime) would wake the set through the runtime's driver, a system call per
//! wake-up.
//!
//! Until the lane's connection is up (and whenever it is down) checks go through the shared
//! connection instead, so a fresh worker never answers from the fallback just because its
//! lane is still connecting.

use std::sync::Arc;

use fred::clients::Client;
use fred::interfaces::ClientLike;

use crate::error::Result;
use crate::redis::batch::Batcher;
use crate::redis::{quit_in_background, RedisLimiter};

/// A per-thread path to Redis for [`RedisLimiter::check_on`]. Create it with
/// [`RedisLimiter::lane`] on the runtime that will use it; dropping it closes its connection.
#[derive(Debug)]
pub struct RedisLane {
    client: Client,
    batcher: Batcher,
}

impl RedisLane {
    /// Builds the lane's client from the limiter's configuration and starts connecting it and
    /// its dispatcher on the current runtime.
    pub(crate) fn start(limiter: &RedisLimiter) -> Result<RedisLane> {
        let inner = &limiter.inner;
        let client = inner.builder.build()?;
        drop(client.connect());
        let batcher = Batcher::start(
            client.clone(),
            inner.options.clone(),
            inner.config.key_prefix.clone(),
            Arc::clone(&inner.counters),
            inner.config.lease,
            true,
        );
        Ok(RedisLane { client, batcher })
    }

    /// The lane's batcher while its connection is up.
    pub(crate) fn batcher(&self) -> Option<&Batcher> {
        self.client.is_connected().then_some(&self.batcher)
    }
}

impl Drop for RedisLane {
    fn drop(&mut self) {
        self.batcher.shutdown();
        quit_in_background(self.client.clone());
    }
}
