//! Which calls may be sent again, and how long a rate-limited call may wait.

use std::time::Duration;

/// Whether a call may reach the server more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Crypto calls and every `GET`: the same request twice has the same effect as once
    /// (encrypt's second ciphertext is as good as the first), so after a timeout, a reset or a
    /// 503 the next address gets it.
    Safe,
    /// Admin writes: once a request may have reached a server it is never sent again; only a
    /// failure to connect moves on to the next address.
    Once,
}

/// How long a call waits on `429 Too Many Requests` before giving up with
/// [`crate::Error::RateLimited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most `Retry-After` waits per call (0: never wait).
    pub max_rate_limit_waits: u32,
    /// Longest single wait; a longer `Retry-After` is returned to the caller at once.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    /// At most 3 waits of at most 10 s each.
    fn default() -> Self {
        Self {
            max_rate_limit_waits: 3,
            max_rate_limit_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never waits: every 429 is returned at once.
    pub fn no_waits() -> Self {
        Self {
            max_rate_limit_waits: 0,
            ..Self::default()
        }
    }

    /// Whether the `waits_so_far + 1`-th wait of `retry_after` is allowed.
    pub(crate) fn may_wait(&self, waits_so_far: u32, retry_after: Option<Duration>) -> bool {
        retry_after.is_some_and(|delay| {
            waits_so_far < self.max_rate_limit_waits && delay <= self.max_rate_limit_wait
        })
    }
}

/// `Retry-After` in seconds (the only form CryptoServe sends).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_bounded_in_number_and_length() {
        let policy = RetryPolicy::default();
        let second = Some(Duration::from_secs(1));
        assert!(policy.may_wait(0, second));
        assert!(policy.may_wait(2, second));
        assert!(!policy.may_wait(3, second));
        assert!(!policy.may_wait(0, Some(Duration::from_secs(11))));
        assert!(
            !policy.may_wait(0, None),
            "no Retry-After: the request can never fit"
        );
        assert!(!RetryPolicy::no_waits().may_wait(0, second));
        assert_eq!(parse_retry_after(Some(" 2 ")), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(Some("soon")), None);
    }
}
