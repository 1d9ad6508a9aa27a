//! The pure GCRA arithmetic shared by the in-process limiter and (mirrored in Lua) by Redis.
//!
//! Every bucket is described relative to "now" by `ahead_us`: how far its theoretical arrival
//! time (TAT) lies in the future, `max(tat - now, 0)`. Working in offsets lets Redis Cluster
//! nodes with slightly different clocks feed one decision, since each bucket only ever meets
//! its own node's clock. Rules, with T the emission interval and τ = burst × T:
//!
//! - a request of cost n fits a bucket iff `ahead + n·T ≤ τ`;
//! - it is admitted iff it fits every bucket, and then every bucket moves to `ahead + n·T`;
//! - otherwise no bucket changes.

use std::time::Duration;

use crate::decision::{Decision, DecisionSource};
use crate::policy::{Dimension, Policy};

/// One bucket's state as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BucketState {
    pub dimension: Dimension,
    pub policy: Policy,
    /// `max(tat - now, 0)` in microseconds, before this request.
    pub ahead_us: u64,
}

/// The outcome for a whole request: the caller-facing decision and, when admitted, the new
/// `ahead_us` of every bucket (same order as the input) to store.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub decision: Decision,
    pub new_ahead_us: Vec<u64>,
}

/// Decides a request of `cost` against all `buckets` at once (all-or-nothing).
pub(crate) fn decide(buckets: &[BucketState], cost: u32, source: DecisionSource) -> Verdict {
    if buckets.is_empty() {
        return Verdict {
            decision: Decision::unlimited(source),
            new_ahead_us: Vec::new(),
        };
    }
    let cost = u64::from(cost);
    let wanted: Vec<u64> = buckets
        .iter()
        .map(|b| {
            b.ahead_us
                .saturating_add(cost.saturating_mul(b.policy.emission_interval_us()))
        })
        .collect();
    let allowed = buckets
        .iter()
        .zip(&wanted)
        .all(|(b, &w)| w <= b.policy.tolerance_us());
    let after: Vec<u64> = if allowed {
        wanted.clone()
    } else {
        buckets.iter().map(|b| b.ahead_us).collect()
    };

    // (index, remaining, reset) for every bucket.
    let views: Vec<(usize, u64, u64)> = buckets
        .iter()
        .zip(&after)
        .enumerate()
        .map(|(i, (b, &a))| {
            let remaining =
                b.policy.tolerance_us().saturating_sub(a) / b.policy.emission_interval_us();
            (i, remaining, a)
        })
        .collect();

    let mut retry_after = None;
    let mut denied_by = None;
    let tightest = if allowed {
        // Smallest remaining; on a tie the one that takes longest to refill.
        views
            .iter()
            .min_by(|x, y| x.1.cmp(&y.1).then(y.2.cmp(&x.2)))
            .map_or(0, |v| v.0)
    } else {
        // The denying bucket that needs the longest wait; an impossible cost (n·T > τ) waits
        // forever, so it wins and leaves retry_after empty.
        let mut worst: Option<(usize, Option<u64>)> = None;
        for (i, (b, &w)) in buckets.iter().zip(&wanted).enumerate() {
            let tolerance = b.policy.tolerance_us();
            if w <= tolerance {
                continue;
            }
            let wait = if cost.saturating_mul(b.policy.emission_interval_us()) > tolerance {
                None
            } else {
                Some(w - tolerance)
            };
            let worse = match worst {
                None => true,
                Some((_, None)) => false,
                Some((_, Some(current))) => wait.is_none_or(|wait| wait > current),
            };
            if worse {
                worst = Some((i, wait));
            }
        }
        let (index, wait) = worst.unwrap_or((0, None));
        retry_after = wait.map(Duration::from_micros);
        denied_by = Some(buckets[index].dimension);
        index
    };

    let (_, remaining, reset) = views[tightest];
    Verdict {
        decision: Decision {
            allowed,
            limit: buckets[tightest].policy.requests_per_minute,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_after: Duration::from_micros(reset),
            retry_after,
            denied_by,
            source,
        },
        new_ahead_us: if allowed { after } else { Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(dimension: Dimension, rpm: u32, burst: u32, ahead_us: u64) -> BucketState {
        BucketState {
            dimension,
            policy: Policy {
                requests_per_minute: rpm,
                burst_size: burst,
                enabled: true,
            },
            ahead_us,
        }
    }

    #[test]
    fn fresh_bucket_admits_exactly_burst() {
        let mut ahead = 0;
        let mut admitted = 0;
        for _ in 0..20 {
            let v = decide(
                &[bucket(Dimension::Ip, 60, 5, ahead)],
                1,
                DecisionSource::Local,
            );
            if v.decision.allowed {
                admitted += 1;
                ahead = v.new_ahead_us[0];
            }
        }
        assert_eq!(admitted, 5);
    }

    #[test]
    fn denial_reports_the_worst_dimension_and_its_wait() {
        // ip: full; identity: 1 s short of fitting one more.
        let buckets = [
            bucket(Dimension::Ip, 60, 5, 0),
            bucket(Dimension::Identity, 60, 2, 2_000_000),
        ];
        let v = decide(&buckets, 1, DecisionSource::Local);
        assert!(!v.decision.allowed);
        assert_eq!(v.decision.denied_by, Some(Dimension::Identity));
        assert_eq!(v.decision.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(v.decision.remaining, 0);
        assert_eq!(v.decision.reset_after, Duration::from_secs(2));
        assert!(v.new_ahead_us.is_empty());
    }

    #[test]
    fn impossible_cost_has_no_retry_after() {
        let v = decide(&[bucket(Dimension::Ip, 60, 5, 0)], 6, DecisionSource::Local);
        assert!(!v.decision.allowed);
        assert_eq!(v.decision.retry_after, None);
    }

    #[test]
    fn tightest_is_smallest_remaining() {
        let buckets = [
            bucket(Dimension::Ip, 600, 50, 0),
            bucket(Dimension::Context, 60, 3, 0),
        ];
        let v = decide(&buckets, 1, DecisionSource::Local);
        assert!(v.decision.allowed);
        assert_eq!(v.decision.limit, 60);
        assert_eq!(v.decision.remaining, 2);
        assert_eq!(v.decision.reset_after, Duration::from_secs(1));
    }
}
