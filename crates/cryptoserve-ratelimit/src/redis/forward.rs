//! Forward-only values on the limiter's Redis connection: a value stored with a sequence
//! number that a lower (or equal) sequence can never replace, decided atomically in Redis by
//! `forward_only.lua`. The server keeps the audit checkpoint this way, so an instance that
//! lags behind cannot move the published checkpoint back.

use std::time::Duration;

use fred::interfaces::{HashesInterface, LuaInterface};
use tokio::time::timeout;

use super::RedisLimiter;
use crate::error::{RateLimitError, Result};

const FORWARD_ONLY: &str = include_str!("forward_only.lua");

/// These calls are rare (once a minute, once per admin change), so they wait longer than a
/// rate-limit check may.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(2);

impl RedisLimiter {
    /// Stores `value` under `key` if `sequence` is above the stored sequence; true when stored.
    pub async fn advance_forward_only(
        &self,
        key: &str,
        sequence: i64,
        value: &str,
    ) -> Result<bool> {
        let client = &self.inner.client;
        let stored: i64 = timeout(
            FORWARD_TIMEOUT,
            client.eval(
                FORWARD_ONLY,
                vec![key],
                vec![sequence.to_string(), value.to_owned()],
            ),
        )
        .await
        .map_err(|_| RateLimitError::Timeout(FORWARD_TIMEOUT))??;
        Ok(stored == 1)
    }

    /// The value last stored under `key` by [`RedisLimiter::advance_forward_only`], if any.
    pub async fn forward_only_value(&self, key: &str) -> Result<Option<String>> {
        let client = &self.inner.client;
        let value: Option<String> = timeout(FORWARD_TIMEOUT, client.hget(key, "value"))
            .await
            .map_err(|_| RateLimitError::Timeout(FORWARD_TIMEOUT))??;
        Ok(value)
    }
}
