//! The in-process limiter, on tokio's paused clock so time is exact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use cryptoserve_ratelimit::{Check, DecisionSource, Dimension, Limiter, LocalLimiter, Policy};

fn policy(requests_per_minute: u32, burst_size: u32) -> Policy {
    Policy {
        requests_per_minute,
        burst_size,
        enabled: true,
    }
}

fn ip(key: &str, p: Policy) -> Check {
    Check::new(Dimension::Ip, key, p)
}

#[tokio::test(start_paused = true)]
async fn burst_then_steady_rate_over_a_minute() {
    let limiter = LocalLimiter::new();
    let checks = [ip("10.0.0.1", policy(60, 10))];

    let instant = (0..100)
        .filter(|_| limiter.check(&checks, 1).allowed)
        .count();
    assert_eq!(
        instant, 10,
        "a full bucket admits exactly burst_size at once"
    );

    // Then try as often as possible every 100 ms for a minute.
    let mut admitted = instant;
    for _ in 0..600 {
        tokio::time::advance(Duration::from_millis(100)).await;
        while limiter.check(&checks, 1).allowed {
            admitted += 1;
        }
    }
    assert!(
        (69..=71).contains(&admitted),
        "burst + rpm over 60 s = 70, got {admitted}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_denied_request_consumes_nothing_from_other_dimensions() {
    let limiter = LocalLimiter::new();
    let ip_policy = policy(60, 5);
    let identity_policy = policy(60, 2);
    let context_policy = policy(60, 4);
    let request = |identity: &str| {
        // bob is a bigger customer than alice.
        let identity_policy = if identity == "bob" {
            policy(60, 10)
        } else {
            identity_policy
        };
        vec![
            ip("10.0.0.2", ip_policy),
            Check::new(Dimension::Identity, identity, identity_policy),
            Check::new(Dimension::Context, "payments", context_policy),
        ]
    };

    assert!(limiter.check(&request("alice"), 1).allowed);
    assert!(limiter.check(&request("alice"), 1).allowed);
    for _ in 0..10 {
        let denied = limiter.check(&request("alice"), 1);
        assert!(!denied.allowed);
        assert_eq!(denied.denied_by, Some(Dimension::Identity));
    }
    // ip has 3 left and context 2: if the denials had charged them, bob would get fewer.
    assert!(limiter.check(&request("bob"), 1).allowed);
    assert!(limiter.check(&request("bob"), 1).allowed);
    let denied = limiter.check(&request("bob"), 1);
    assert!(!denied.allowed);
    assert_eq!(denied.denied_by, Some(Dimension::Context));
}

#[tokio::test(start_paused = true)]
async fn cost_counts_n() {
    let limiter = LocalLimiter::new();
    let checks = [ip("10.0.0.3", policy(60, 10))];
    assert!(limiter.check(&checks, 4).allowed);
    assert!(limiter.check(&checks, 4).allowed);
    let denied = limiter.check(&checks, 4);
    assert!(!denied.allowed);
    assert_eq!(denied.retry_after, Some(Duration::from_secs(2)));
    let last = limiter.check(&checks, 2);
    assert!(last.allowed);
    assert_eq!(last.remaining, 0);

    let above_burst = limiter.check(&checks, 11);
    assert!(!above_burst.allowed);
    assert_eq!(
        above_burst.retry_after,
        Some(Duration::from_secs(10)),
        "a cost above the burst waits for a full bucket"
    );
}

/// The default identity policy (100/min, burst 20) and a maximal batch of 100 items: admitted
/// from a full bucket, charged 100 × T = 60 s, so nothing else fits until the debt is paid
/// and the next maximal batch waits for a full bucket again.
#[tokio::test(start_paused = true)]
async fn a_maximal_batch_fits_a_full_default_bucket_once_per_refill() {
    let limiter = LocalLimiter::new();
    let default = Policy::default_for(Dimension::Identity);
    assert_eq!((default.requests_per_minute, default.burst_size), (100, 20));
    let checks = [Check::new(Dimension::Identity, "batcher", default)];

    let first = limiter.check(&checks, 100);
    assert!(first.allowed, "{first:?}");
    assert_eq!(first.remaining, 0);
    assert_eq!(first.reset_after, Duration::from_secs(60));

    let again = limiter.check(&checks, 100);
    assert!(!again.allowed);
    assert_eq!(again.retry_after, Some(Duration::from_secs(60)));
    // A single item waits until 60 s + 0.6 s − 12 s of debt is left.
    let one = limiter.check(&checks, 1);
    assert_eq!(one.retry_after, Some(Duration::from_millis(48_600)));

    tokio::time::advance(Duration::from_millis(59_999)).await;
    assert!(!limiter.check(&checks, 100).allowed, "1 ms short of full");
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(limiter.check(&checks, 100).allowed, "full again after 60 s");
}

/// Greedy clients mixing maximal batches and single items never get more than
/// `rate × window + max(burst, largest cost)` items through, for every window from the start.
#[tokio::test(start_paused = true)]
async fn maximal_batches_never_exceed_the_rate() {
    let limiter = LocalLimiter::new();
    let checks = [Check::new(
        Dimension::Identity,
        "greedy",
        Policy::default_for(Dimension::Identity),
    )];
    let mut items = 0u64;
    let mut batches = 0u64;
    // Ten minutes in 100 ms steps; each step tries a batch, then, in every other two-minute
    // phase, single items while they fit (single items keep a bucket from ever being full, so
    // batches get through only in the phases without them).
    for step in 0..=6_000u64 {
        if step > 0 {
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        if limiter.check(&checks, 100).allowed {
            items += 100;
            batches += 1;
        }
        while (step / 1_200) % 2 == 1 && limiter.check(&checks, 1).allowed {
            items += 1;
        }
        let window_ms = step * 100;
        // rate × window (100/min = 1 per 600 ms) + max(burst 20, cost 100).
        let bound = window_ms / 600 + 100;
        assert!(items <= bound, "{items} items in {window_ms} ms > {bound}");
    }
    eprintln!("{items} items in {batches} batches and single requests");
    // The rate is used, not merely bounded.
    assert!((1_000..=1_100).contains(&items), "{items} items");
    assert!(batches >= 5, "maximal batches keep getting through");
}

#[tokio::test(start_paused = true)]
async fn reset_refills_a_bucket() {
    let limiter = Limiter::from(LocalLimiter::new());
    let checks = [ip("10.0.0.4", policy(60, 3))];
    for _ in 0..3 {
        assert!(limiter.check(&checks, 1).await.allowed);
    }
    assert!(!limiter.check(&checks, 1).await.allowed);
    limiter.reset(Dimension::Ip, "10.0.0.4").await.unwrap();
    for _ in 0..3 {
        assert!(limiter.check(&checks, 1).await.allowed);
    }
    assert_eq!(limiter.stats().local_decisions, 7);
    assert_eq!(limiter.health().mode, "local");
}

#[tokio::test(start_paused = true)]
async fn disabled_policy_never_limits() {
    let limiter = LocalLimiter::new();
    let off = Policy {
        enabled: false,
        ..policy(1, 1)
    };
    let checks = [ip("10.0.0.5", off)];
    for _ in 0..1000 {
        let decision = limiter.check(&checks, 1);
        assert!(decision.allowed);
        assert_eq!(decision.limit, 0);
    }
    // A disabled dimension next to an enabled one is ignored, not counted.
    let mixed = [
        ip("10.0.0.5", off),
        Check::new(Dimension::Identity, "carol", policy(60, 2)),
    ];
    assert!(limiter.check(&mixed, 1).allowed);
    assert!(limiter.check(&mixed, 1).allowed);
    assert_eq!(
        limiter.check(&mixed, 1).denied_by,
        Some(Dimension::Identity)
    );
}

#[tokio::test(start_paused = true)]
async fn header_values_make_sense() {
    let limiter = LocalLimiter::new();
    let checks = [
        ip("10.0.0.6", policy(60, 5)),
        Check::new(Dimension::Context, "ctx", policy(600, 100)),
    ];
    let first = limiter.check(&checks, 1);
    assert!(first.allowed);
    assert_eq!(first.source, DecisionSource::Local);
    assert_eq!(first.limit, 60, "ip is the tightest");
    assert_eq!(first.remaining, 4);
    assert_eq!(first.reset_after, Duration::from_secs(1));
    assert_eq!(first.retry_after, None);

    for _ in 0..4 {
        assert!(limiter.check(&checks, 1).allowed);
    }
    let denied = limiter.check(&checks, 1);
    assert!(!denied.allowed);
    assert_eq!(denied.limit, 60);
    assert_eq!(denied.remaining, 0);
    assert_eq!(denied.reset_after, Duration::from_secs(5));
    assert_eq!(denied.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(denied.denied_by, Some(Dimension::Ip));

    tokio::time::advance(denied.retry_after.unwrap()).await;
    assert!(limiter.check(&checks, 1).allowed, "retry_after is honest");

    tokio::time::advance(Duration::from_secs(5)).await;
    let refilled = limiter.check(&checks, 1);
    assert_eq!(refilled.remaining, 4, "bucket full again after reset_after");
}

#[tokio::test(start_paused = true)]
async fn memory_stays_bounded() {
    let limiter = LocalLimiter::with_max_buckets(64);
    for i in 0..10_000 {
        limiter.check(
            &[ip(&format!("10.1.{}.{}", i / 256, i % 256), policy(60, 5))],
            1,
        );
    }
    assert!(limiter.len() <= 64, "len {}", limiter.len());

    // Full buckets are swept first: after they refill, new keys replace them.
    tokio::time::advance(Duration::from_secs(2)).await;
    limiter.check(&[ip("fresh", policy(60, 5))], 1);
    assert!(limiter.len() <= 64);
}
