//! Decisions per second: the in-process limiter, and the Redis limiter against a local
//! `redis-server` started through the testkit (one round trip per decision).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cryptoserve_ratelimit::{
    Check, Dimension, LocalLimiter, Policy, RedisLimiter, RedisLimiterConfig,
};
use cryptoserve_testkit::redis::RedisServer;

fn checks(i: u64) -> Vec<Check> {
    // Generous limits and rotating keys, so we measure deciding, not denying.
    let policy = Policy {
        requests_per_minute: 60_000_000,
        burst_size: 1_000_000,
        enabled: true,
    };
    vec![
        Check::new(
            Dimension::Ip,
            format!("10.0.{}.{}", (i / 256) % 256, i % 256),
            policy,
        ),
        Check::new(
            Dimension::Identity,
            format!("identity-{}", i % 1000),
            policy,
        ),
        Check::new(Dimension::Context, "payments", policy),
    ]
}

fn local(c: &mut Criterion) {
    let limiter = LocalLimiter::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    let mut i = 0_u64;
    group.bench_function("local_3_dimensions", |b| {
        b.iter(|| {
            i += 1;
            black_box(limiter.check(&checks(i), 1))
        })
    });
    group.finish();
}

fn redis(c: &mut Criterion) {
    let server = RedisServer::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Leases off: this measures the per-request path (keys rotate, so few would be busy anyway).
    let mut config = RedisLimiterConfig::new(server.url());
    config.lease = std::time::Duration::ZERO;
    let limiter = runtime.block_on(RedisLimiter::connect(config)).unwrap();
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    let mut i = 0_u64;
    group.bench_function("redis_3_dimensions_sequential", |b| {
        b.iter(|| {
            i += 1;
            black_box(runtime.block_on(limiter.check(&checks(i), 1)))
        })
    });
    // 64 concurrent checks in flight, as a busy server would have; fred pipelines them.
    group.throughput(Throughput::Elements(64));
    group.bench_function("redis_3_dimensions_64_concurrent", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let batch = (0..64).map(|_| {
                    i += 1;
                    let (limiter, checks) = (limiter.clone(), checks(i));
                    async move { limiter.check(&checks, 1).await }
                });
                black_box(futures::future::join_all(batch).await)
            })
        })
    });
    group.finish();
    let stats = limiter.stats();
    assert_eq!(stats.fallback_decisions, 0, "bench fell back: {stats:?}");
    drop(limiter);
    drop(runtime);
    drop(server);
}

criterion_group!(benches, local, redis);
criterion_main!(benches);
