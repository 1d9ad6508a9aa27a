//! The Redis limiter against real `redis-server` processes: exactness across instances,
//! all-or-nothing, AUTH, outages, recovery, fail-closed, and policy-change pub/sub.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{admitted_over, assert_near, config, limiters, policy};
use cryptoserve_ratelimit::{Check, DecisionSource, Dimension, FailMode, Limiter, RedisLimiter};
use cryptoserve_testkit::redis::{RedisOptions, RedisServer};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_one_exact_limit() {
    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 3).await;
    let (rpm, burst, window) = (6000, 50, Duration::from_secs(3));
    let checks = vec![
        Check::new(Dimension::Ip, "10.0.0.1", policy(rpm, burst)),
        Check::new(Dimension::Identity, "alice", policy(600_000, 10_000)),
        Check::new(Dimension::Context, "payments", policy(600_000, 10_000)),
    ];
    let admitted = admitted_over(&instances, checks, window).await;
    assert_near(admitted, burst, rpm, window);
    let stats = instances[0].stats();
    assert!(
        stats.redis_decisions > 0 && stats.fallback_decisions == 0,
        "{stats:?}"
    );
}

/// A maximal batch (100 items) under the default identity policy (100/min, burst 20): the
/// script admits it from a full bucket, charges all 100 items, and refuses the next one until
/// the bucket is full again — decided by Redis exactly as `gcra.rs` decides in process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maximal_batch_fits_a_full_default_bucket_once_per_refill() {
    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    let checks = [Check::new(
        Dimension::Identity,
        "batcher",
        cryptoserve_ratelimit::Policy::default_for(Dimension::Identity),
    )];

    let first = instances[0].check(&checks, 100).await;
    assert!(first.allowed, "{first:?}");
    assert_eq!(first.source, DecisionSource::Redis);
    assert_eq!(first.remaining, 0);

    for instance in &instances {
        let again = instance.check(&checks, 100).await;
        assert!(!again.allowed, "{again:?}");
        assert_eq!(again.source, DecisionSource::Redis);
        let wait = again.retry_after.unwrap();
        assert!(
            (Duration::from_secs(59)..=Duration::from_secs(60)).contains(&wait),
            "waits for a full bucket: {again:?}"
        );
        let one = instance.check(&checks, 1).await.retry_after.unwrap();
        assert!(
            (Duration::from_secs(48)..=Duration::from_millis(48_600)).contains(&one),
            "a single item waits for the debt to shrink to the burst: {one:?}"
        );
    }
}

/// The same rule at 100 items a second (6000/min, burst 20, so a maximal batch is a 1 s debt)
/// from two instances, one sending maximal batches and one single items for a while: the
/// admitted items never exceed `rate × elapsed + max(burst, cost)`, and batches keep fitting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maximal_batches_never_exceed_the_rate_on_redis() {
    use std::sync::{Arc, Mutex};

    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    let checks = Arc::new(vec![Check::new(
        Dimension::Identity,
        "greedy",
        policy(6000, 20),
    )]);
    let start = Instant::now();
    let window = Duration::from_secs(3);
    // (items admitted, batches admitted).
    let admitted = Arc::new(Mutex::new((0u64, 0u64)));
    let mut tasks = Vec::new();
    for (index, limiter) in instances.iter().enumerate() {
        let (limiter, checks, admitted) = (limiter.clone(), checks.clone(), admitted.clone());
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < window {
                let singles = index == 1;
                let elapsed = start.elapsed();
                if singles
                    && !(Duration::from_millis(1_500)..Duration::from_millis(2_500))
                        .contains(&elapsed)
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let cost = if singles { 1 } else { 100 };
                let decision = limiter.check(&checks, cost).await;
                assert_eq!(decision.source, DecisionSource::Redis, "{decision:?}");
                if !decision.allowed {
                    continue;
                }
                let mut totals = admitted.lock().unwrap();
                totals.0 += u64::from(cost);
                totals.1 += u64::from(cost == 100);
                // 100 items a second since before the first check, plus the batch.
                let bound = start.elapsed().as_millis() as u64 / 10 + 100;
                assert!(totals.0 <= bound, "{} items > {bound}", totals.0);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (items, batches) = *admitted.lock().unwrap();
    eprintln!("{items} items, {batches} maximal batches");
    assert!(batches >= 2, "{batches} batches");
    assert!(items >= 200, "{items} items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_share_script_runs_and_stay_exact() {
    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    // One request a minute refills nothing during the test: only the bursts count.
    let alice = vec![
        Check::new(Dimension::Ip, "10.0.0.9", policy(1, 10_000)),
        Check::new(Dimension::Identity, "alice", policy(1, 100)),
        Check::new(Dimension::Context, "shared", policy(1, 10_000)),
    ];
    let bob = vec![
        Check::new(Dimension::Identity, "bob", policy(1, 30)),
        Check::new(Dimension::Context, "shared", policy(1, 10_000)),
    ];
    let mut tasks = Vec::new();
    for i in 0..600 {
        let limiter = instances[i % 2].clone();
        let checks = if i % 3 == 0 {
            bob.clone()
        } else {
            alice.clone()
        };
        tasks.push(tokio::spawn(async move {
            let decision = limiter.check(&checks, 1).await;
            assert_eq!(decision.source, DecisionSource::Redis, "{decision:?}");
            (checks[0].key.clone(), decision.allowed)
        }));
    }
    let (mut alice_admitted, mut bob_admitted) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (key, true) if key == "bob" => bob_admitted += 1,
            (_, true) => alice_admitted += 1,
            _ => {}
        }
    }
    assert_eq!((alice_admitted, bob_admitted), (100, 30));

    // Both instances' admissions drew on the one shared context bucket.
    let shared = [Check::new(Dimension::Context, "shared", policy(1, 131))];
    assert!(instances[0].check(&shared, 1).await.allowed);
    assert!(!instances[1].check(&shared, 1).await.allowed);

    let stats: Vec<_> = instances.iter().map(RedisLimiter::stats).collect();
    let decisions: u64 = stats.iter().map(|s| s.redis_decisions).sum();
    let trips: u64 = stats.iter().map(|s| s.redis_round_trips).sum();
    assert_eq!(decisions, 602, "{stats:?}");
    assert!(
        trips < decisions,
        "concurrent checks should share script runs: {stats:?}"
    );
}

/// `connected_clients` from `INFO clients`, via `redis-cli`.
fn connected_clients(server: &RedisServer) -> u32 {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &server.port().to_string(), "info", "clients"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_lane_decides_on_its_own_connection_against_the_shared_buckets() {
    // A lane runs its tasks on the thread's `LocalSet`, as in an actix worker.
    tokio::task::LocalSet::new()
        .run_until(lane_on_its_own_connection())
        .await;
}

async fn lane_on_its_own_connection() {
    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    let before = connected_clients(&server);
    let lane = instances[0].lane().expect("standalone Redis has lanes");
    let checks = [Check::new(Dimension::Identity, "carol", policy(1, 20))];
    // Decided by Redis from the first check, even before the lane's connection is up.
    let first = instances[0].check_on(Some(&lane), &checks, 1).await;
    assert_eq!(first.source, DecisionSource::Redis, "{first:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while connected_clients(&server) <= before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        connected_clients(&server),
        before + 1,
        "the lane has its own connection"
    );

    // Lane and shared connections, on two instances, draw on one bucket: 20 in all.
    let mut admitted = usize::from(first.allowed);
    for i in 0..40 {
        let decision = if i % 2 == 0 {
            instances[0].check_on(Some(&lane), &checks, 1).await
        } else {
            instances[1].check(&checks, 1).await
        };
        assert_eq!(decision.source, DecisionSource::Redis, "{decision:?}");
        admitted += usize::from(decision.allowed);
    }
    assert_eq!(admitted, 20);

    drop(lane);
    let deadline = Instant::now() + Duration::from_secs(5);
    while connected_clients(&server) > before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        connected_clients(&server),
        before,
        "a dropped lane closes its connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_request_consumes_nothing_across_instances() {
    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    let request = |identity: &str, identity_burst: u32| {
        vec![
            Check::new(Dimension::Ip, "10.0.0.2", policy(60, 5)),
            Check::new(Dimension::Identity, identity, policy(60, identity_burst)),
            Check::new(Dimension::Context, "payments", policy(60, 4)),
        ]
    };
    assert!(instances[0].check(&request("alice", 2), 1).await.allowed);
    assert!(instances[1].check(&request("alice", 2), 1).await.allowed);
    for i in 0..10 {
        let denied = instances[i % 2].check(&request("alice", 2), 1).await;
        assert!(!denied.allowed);
        assert_eq!(denied.denied_by, Some(Dimension::Identity));
        assert_eq!(denied.source, DecisionSource::Redis);
    }
    assert!(instances[0].check(&request("bob", 10), 1).await.allowed);
    assert!(instances[1].check(&request("bob", 10), 1).await.allowed);
    let denied = instances[0].check(&request("bob", 10), 1).await;
    assert_eq!(denied.denied_by, Some(Dimension::Context));

    // reset goes to Redis: the other instance sees the refilled bucket.
    instances[1]
        .reset(Dimension::Context, "payments")
        .await
        .unwrap();
    assert!(instances[0].check(&request("bob", 10), 1).await.allowed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_in_the_url_works_and_a_wrong_password_falls_back() {
    let server = RedisServer::start_with(RedisOptions {
        password: Some("hunter2".into()),
        ..RedisOptions::default()
    })
    .unwrap();
    let checks = [Check::new(Dimension::Ip, "10.0.0.3", policy(60, 5))];

    let good = RedisLimiter::connect(config(&server.url())).await.unwrap();
    assert_eq!(good.check(&checks, 1).await.source, DecisionSource::Redis);
    assert!(good.probe().await.connected);

    let mut wrong = config(&format!("redis://:wrong@127.0.0.1:{}", server.port()));
    wrong.connect_wait = Duration::from_millis(300);
    let started = Instant::now();
    let bad = RedisLimiter::connect(wrong).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "connect must not block"
    );
    let decision = bad.check(&checks, 1).await;
    assert_eq!(decision.source, DecisionSource::Fallback);
    assert!(decision.allowed);
    assert!(bad.health().degraded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_urls_are_accepted_and_garbage_is_not() {
    let mut tls = config("rediss://:secret@127.0.0.1:1");
    tls.connect_wait = Duration::from_millis(100);
    let limiter = Limiter::from(RedisLimiter::connect(tls).await.unwrap());
    let decision = limiter
        .check(&[Check::new(Dimension::Ip, "x", policy(60, 5))], 1)
        .await;
    assert_eq!(decision.source, DecisionSource::Fallback);
    assert_eq!(limiter.health().mode, "redis");

    assert!(RedisLimiter::connect(config("not a url")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_falls_back_fast_and_recovery_returns_to_redis() {
    let mut server = RedisServer::start().unwrap();
    // A timeout that a loaded CI machine still meets while Redis is up; the bound below is
    // about "never hangs", not about speed.
    let mut cfg = config(&server.url());
    cfg.timeout = Duration::from_millis(250);
    let limiter = RedisLimiter::connect(cfg).await.unwrap();
    let checks = [Check::new(
        Dimension::Ip,
        "10.0.0.4",
        policy(600_000, 10_000),
    )];
    assert_eq!(
        limiter.check(&checks, 1).await.source,
        DecisionSource::Redis
    );

    server.kill().unwrap();
    let slack = Duration::from_millis(750);
    let mut sources = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let decision = limiter.check(&checks, 1).await;
        assert!(
            started.elapsed() < Duration::from_millis(250) + slack,
            "{:?}",
            started.elapsed()
        );
        assert!(decision.allowed);
        sources.push(decision.source);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        sources[5..].iter().all(|s| *s == DecisionSource::Fallback),
        "{sources:?}"
    );
    assert!(limiter.health().degraded);
    assert!(limiter.stats().redis_errors > 0);

    server.restart().unwrap();
    let restarted = Instant::now();
    loop {
        if limiter.check(&checks, 1).await.source == DecisionSource::Redis {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(5),
            "redis not used again within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        limiter.stats().script_reloads >= 1,
        "the fresh server needed the script again"
    );
    assert!(!limiter.probe().await.degraded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_denies_while_redis_is_down() {
    let mut server = RedisServer::start().unwrap();
    let mut closed = config(&server.url());
    closed.fail_mode = FailMode::Closed;
    let limiter = RedisLimiter::connect(closed).await.unwrap();
    let checks = [Check::new(Dimension::Identity, "dave", policy(60, 5))];
    assert!(limiter.check(&checks, 1).await.allowed);

    server.kill().unwrap();
    for _ in 0..5 {
        let decision = limiter.check(&checks, 1).await;
        assert!(!decision.allowed);
        assert_eq!(decision.source, DecisionSource::FailClosed);
        assert!(decision.retry_after.is_some());
    }
    assert!(limiter.stats().fallback_decisions >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_divides_the_policy_between_instances() {
    let mut server = RedisServer::start().unwrap();
    let mut shared = config(&server.url());
    shared.fallback_instances = 3;
    let limiter = RedisLimiter::connect(shared).await.unwrap();
    server.kill().unwrap();
    let checks = [Check::new(Dimension::Ip, "10.0.0.5", policy(60, 9))];
    let mut admitted = 0;
    for _ in 0..20 {
        let decision = limiter.check(&checks, 1).await;
        assert_eq!(decision.source, DecisionSource::Fallback);
        admitted += usize::from(decision.allowed);
    }
    assert_eq!(admitted, 3, "burst 9 over 3 instances");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_changes_reach_other_instances() {
    let server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    let mut changes = instances[1].subscribe_policy_changes();
    let deadline = Instant::now() + Duration::from_secs(5);
    // The subscription is set up in the background; publish until it is in place.
    let received = loop {
        instances[0]
            .publish_policy_change("policies-v2")
            .await
            .unwrap();
        match tokio::time::timeout(Duration::from_millis(200), changes.recv()).await {
            Ok(message) => break message.unwrap(),
            Err(_) => assert!(Instant::now() < deadline, "no policy change received"),
        }
    };
    assert_eq!(received, "policies-v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_subscription_survives_a_redis_restart() {
    let mut server = RedisServer::start().unwrap();
    let instances = limiters(&server.url(), 2).await;
    let mut changes = instances[1].subscribe_policy_changes();
    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = loop {
        // Publishing fails until the publisher has reconnected too.
        let _ = instances[0].publish_policy_change("after-restart").await;
        match tokio::time::timeout(Duration::from_millis(200), changes.recv()).await {
            Ok(message) => break message.unwrap(),
            Err(_) => assert!(Instant::now() < deadline, "not resubscribed after restart"),
        }
    };
    assert_eq!(received, "after-restart");
}
