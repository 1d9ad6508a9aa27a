//! The crate's one error type. Checks never return it (they fall back instead); it surfaces
//! from construction, administration (`reset`, `publish_policy_change`) and health probes.

use std::time::Duration;

/// Everything that can go wrong talking to Redis.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RateLimitError {
    /// The Redis URL could not be parsed. The URL itself is not repeated: it may hold a password.
    #[error("invalid redis url: {0}")]
    InvalidUrl(String),
    /// Redis answered with an error or the connection failed.
    #[error("redis error: {0}")]
    Redis(#[from] fred::error::Error),
    /// Redis did not answer in time.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis answered something our script never returns.
    #[error("unexpected reply from redis: {0}")]
    UnexpectedReply(String),
}

impl RateLimitError {
    /// Stable machine-readable code for API errors and logs.
    pub fn code(&self) -> &'static str {
        match self {
            RateLimitError::InvalidUrl(_) => "ratelimit_invalid_url",
            RateLimitError::Redis(_) => "ratelimit_redis_error",
            RateLimitError::Timeout(_) => "ratelimit_redis_timeout",
            RateLimitError::UnexpectedReply(_) => "ratelimit_unexpected_reply",
        }
    }
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, RateLimitError>;
