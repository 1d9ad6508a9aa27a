//! Helpers shared by the Redis integration tests: limiter construction and a concurrent
//! load loop that plays several CryptoServe instances.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cryptoserve_ratelimit::{Check, DecisionSource, Policy, RedisLimiter, RedisLimiterConfig};
use tokio::time::Instant;

pub fn policy(requests_per_minute: u32, burst_size: u32) -> Policy {
    Policy {
        requests_per_minute,
        burst_size,
        enabled: true,
    }
}

pub fn config(url: &str) -> RedisLimiterConfig {
    let mut config = RedisLimiterConfig::new(url);
    config.connect_wait = Duration::from_secs(5);
    config
}

/// Limiters for exactness tests. Their timeout is generous: these tests measure whether Redis
/// decides exactly, and on a loaded CI machine a 50 ms round trip is not guaranteed (the
/// fallback on timeout has its own tests).
pub async fn limiters(url: &str, count: usize) -> Vec<RedisLimiter> {
    let mut out = Vec::new();
    for _ in 0..count {
        let mut config = config(url);
        config.timeout = Duration::from_secs(2);
        out.push(RedisLimiter::connect(config).await.unwrap());
    }
    out
}

/// How long each task of [`hammer`] keeps checking.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// Until this instant.
    Deadline(Instant),
    /// This many checks.
    Checks(usize),
}

/// Every limiter hammers `checks` from its own task for `window`; returns how many were
/// admitted, and panics if any decision did not come from Redis.
pub async fn admitted_over(
    limiters: &[RedisLimiter],
    checks: Vec<Check>,
    window: Duration,
) -> usize {
    hammer(
        limiters,
        &checks,
        1,
        Until::Deadline(Instant::now() + window),
    )
    .await
}

/// `tasks` concurrent callers per limiter, each checking `checks` one after the other until
/// `until`; returns how many were admitted, and panics if any decision did not come from Redis.
pub async fn hammer(
    limiters: &[RedisLimiter],
    checks: &[Check],
    tasks: usize,
    until: Until,
) -> usize {
    let admitted = Arc::new(AtomicUsize::new(0));
    let checks = Arc::new(checks.to_vec());
    let mut handles = Vec::new();
    for limiter in limiters {
        for _ in 0..tasks {
            let (limiter, checks, admitted) = (limiter.clone(), checks.clone(), admitted.clone());
            handles.push(tokio::spawn(async move {
                let mut made = 0;
                while match until {
                    Until::Deadline(deadline) => Instant::now() < deadline,
                    Until::Checks(count) => made < count,
                } {
                    made += 1;
                    let decision = limiter.check(&checks, 1).await;
                    assert_eq!(decision.source, DecisionSource::Redis, "{decision:?}");
                    if decision.allowed {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    for handle in handles {
        handle.await.unwrap();
    }
    admitted.load(Ordering::Relaxed)
}

/// `burst + rate × window` and the ±2 % the server test allows.
pub fn assert_near(admitted: usize, burst: u32, requests_per_minute: u32, window: Duration) {
    let expected = f64::from(burst) + window.as_secs_f64() * f64::from(requests_per_minute) / 60.0;
    let error = (admitted as f64 - expected).abs() / expected;
    eprintln!("admitted {admitted}, expected {expected}");
    assert!(
        error <= 0.02,
        "admitted {admitted}, expected {expected} (±2 %), off by {:.2} %",
        error * 100.0
    );
}
