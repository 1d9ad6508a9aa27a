//! The pure GCRA arithmetic shared by the in-process limiter and (mirrored in Lua) by Redis.
//!
//! Every bucket is described relative to "now" by `ahead_us`: how far its theoretical arrival
//! time (TAT) lies in the future, `max(tat - now, 0)`. Working in offsets lets Redis Cluster
//! nodes with slightly different clocks feed one decision, since each bucket only ever meets
//! its own node's clock. Rules, with T the emission interval and τ = burst × T:
//!
//! - a request of cost n fits a bucket iff `ahead + n·T ≤ τ`, or the bucket is full
//!   (`ahead = 0`): a full bucket admits any one request, so a batch larger than the burst
//!   waits for a full bucket and then leaves it `n·T` ahead — in debt beyond τ, paid back at
//!   the bucket's rate before anything else fits;
//! - it is admitted iff it fits every bucket, and then every bucket moves to `ahead + n·T`;
//! - otherwise no bucket changes.

use std::time::Duration;

use smallvec::SmallVec;

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

/// One value per bucket of a request (at most three: IP, identity, context), kept inline: the
/// in-process limiter decides every request through here and allocates nothing for it.
pub(crate) type PerBucket<T> = SmallVec<[T; 4]>;

/// The outcome for a whole request: the caller-facing decision and, when admitted, the new
/// `ahead_us` of every bucket (same order as the input) to store.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub decision: Decision,
    pub new_ahead_us: PerBucket<u64>,
}

/// Decides a request of `cost` against all `buckets` at once (all-or-nothing).
pub(crate) fn decide(buckets: &[BucketState], cost: u32, source: DecisionSource) -> Verdict {
    if buckets.is_empty() {
        return Verdict {
            decision: Decision::unlimited(source),
            new_ahead_us: PerBucket::new(),
        };
    }
    let cost = u64::from(cost);
    let wanted: PerBucket<u64> = buckets
        .iter()
        .map(|b| {
            b.ahead_us
                .saturating_add(cost.saturating_mul(b.policy.emission_interval_us()))
        })
        .collect();
    let fits = |b: &BucketState, w: u64| b.ahead_us == 0 || w <= b.policy.tolerance_us();
    let allowed = buckets.iter().zip(&wanted).all(|(b, &w)| fits(b, w));
    let after: PerBucket<u64> = if allowed {
        wanted.clone()
    } else {
        buckets.iter().map(|b| b.ahead_us).collect()
    };

    // (index, remaining, reset) for every bucket.
    let views: PerBucket<(usize, u64, u64)> = buckets
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
        // The denying bucket that needs the longest wait: until `ahead + n·T ≤ τ`, or, for a
        // cost above the burst, until the bucket is full (`ahead`, the smaller of the two).
        let mut worst: Option<(usize, u64)> = None;
        for (i, (b, &w)) in buckets.iter().zip(&wanted).enumerate() {
            if fits(b, w) {
                continue;
            }
            let wait = (w - b.policy.tolerance_us()).min(b.ahead_us);
            if worst.is_none_or(|(_, current)| wait > current) {
                worst = Some((i, wait));
            }
        }
        let (index, wait) = worst.unwrap_or((0, 0));
        retry_after = Some(Duration::from_micros(wait));
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
        new_ahead_us: if allowed { after } else { PerBucket::new() },
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
    fn a_cost_above_the_burst_fits_a_full_bucket_and_is_charged_in_full() {
        // 60/min, burst 5: T = 1 s, τ = 5 s.
        let v = decide(&[bucket(Dimension::Ip, 60, 5, 0)], 8, DecisionSource::Local);
        assert!(v.decision.allowed);
        assert_eq!(v.new_ahead_us.as_slice(), &[8_000_000]);
        assert_eq!(v.decision.remaining, 0);
        assert_eq!(v.decision.reset_after, Duration::from_secs(8));

        // Not full (1 µs ahead): it waits for the bucket to be full again.
        let v = decide(&[bucket(Dimension::Ip, 60, 5, 1)], 8, DecisionSource::Local);
        assert!(!v.decision.allowed);
        assert_eq!(v.decision.retry_after, Some(Duration::from_micros(1)));
        let v = decide(
            &[bucket(Dimension::Ip, 60, 5, 8_000_000)],
            8,
            DecisionSource::Local,
        );
        assert_eq!(v.decision.retry_after, Some(Duration::from_secs(8)));
        // A cost-1 request only waits until it fits again: 8 s + 1 s − 5 s.
        let v = decide(
            &[bucket(Dimension::Ip, 60, 5, 8_000_000)],
            1,
            DecisionSource::Local,
        );
        assert!(!v.decision.allowed);
        assert_eq!(v.decision.retry_after, Some(Duration::from_secs(4)));
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
