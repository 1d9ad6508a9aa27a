//! What a check returns: enough to answer the request and fill the rate-limit headers.

use std::time::Duration;

use serde::Serialize;

use crate::policy::Dimension;

/// Who made a decision, so operators can see (and alert on) degraded operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    /// The in-process limiter of a single-node deployment.
    Local,
    /// The shared Redis state: exact across all instances.
    Redis,
    /// Redis was unreachable; the in-process fallback (with divided limits) decided.
    Fallback,
    /// Redis was unreachable and the operator chose to deny rather than guess.
    FailClosed,
}

impl DecisionSource {
    /// The same spelling as its serde form, for metric labels without allocating.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::Local => "local",
            DecisionSource::Redis => "redis",
            DecisionSource::Fallback => "fallback",
            DecisionSource::FailClosed => "fail_closed",
        }
    }
}

/// The answer for one request across all its dimensions. The header fields describe the
/// tightest bucket: the one with the fewest remaining requests, or the denying one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request may proceed. When false, no bucket was charged.
    pub allowed: bool,
    /// Requests per minute of the tightest bucket (`RateLimit-Limit`); 0 when nothing applies.
    pub limit: u32,
    /// Cost-1 requests the tightest bucket would still admit right now (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Time until the tightest bucket is full again (`RateLimit-Reset`).
    pub reset_after: Duration,
    /// When denied: the wait after which the same request fits (`Retry-After`). `None` when
    /// it never can (cost above burst) or when allowed.
    pub retry_after: Option<Duration>,
    /// When denied: the dimension that said no.
    pub denied_by: Option<Dimension>,
    /// Who decided.
    pub source: DecisionSource,
}

impl Decision {
    /// The decision when no enabled policy applies: allowed, nothing to report.
    pub(crate) fn unlimited(source: DecisionSource) -> Decision {
        Decision {
            allowed: true,
            limit: 0,
            remaining: u32::MAX,
            reset_after: Duration::ZERO,
            retry_after: None,
            denied_by: None,
            source,
        }
    }

    /// The fail-closed denial: we cannot know, so we say no and ask to retry in a second.
    pub(crate) fn fail_closed(limit: u32) -> Decision {
        Decision {
            allowed: false,
            limit,
            remaining: 0,
            reset_after: Duration::ZERO,
            retry_after: Some(Duration::from_secs(1)),
            denied_by: None,
            source: DecisionSource::FailClosed,
        }
    }
}

#[cfg(test)]
mod label_tests {
    use super::DecisionSource;

    #[test]
    fn labels_match_the_serde_spelling() {
        for source in [
            DecisionSource::Local,
            DecisionSource::Redis,
            DecisionSource::Fallback,
            DecisionSource::FailClosed,
        ] {
            let serde = serde_json::to_string(&source).unwrap();
            assert_eq!(serde, format!("\"{}\"", source.as_str()));
        }
    }
}
