//! Redis dies during a steady run and comes back.
//!
//! Fail-open: no request gets a 5xx or hangs, the fallback decides (metric, readiness says
//! `degraded`), each instance enforces `limit / fallback_instances`, and after the restart
//! Redis decides again within 5 s — shown by the metrics and by a limit shared across the
//! instances being exact again. Fail-closed: refused with 429 while Redis is down.

use std::time::{Duration, Instant};

use cryptoserve_server::config::FailMode;
use cryptoserve_testkit::redis::{RedisOptions, RedisServer};

use crate::helpers::{
    blocking, encrypt, fallback_decisions, metric, readiness, serial, wait_for_limit, Fleet,
    UNLIMITED,
};
use crate::load::{count, undecided, Load};
use crate::support::{Deployment, TestApp};

/// The shared limit used as a probe: one request a minute (so nothing refills during the
/// test), burst 9; split over 3 instances in fallback, 3 each.
const PROBE_BURST: u32 = 9;
const INSTANCES: u32 = 3;

/// Sends 10 requests per instance, round-robin, for `token`; returns how many were admitted
/// and asserts every one was decided.
async fn admitted_round_robin(apps: &[TestApp], token: &str) -> usize {
    let mut admitted = 0;
    for round in 0..10 {
        for app in apps {
            let reply = encrypt(app, token).await;
            assert!(
                reply.status == 200 || reply.status == 429,
                "round {round}: {reply:?}"
            );
            admitted += usize::from(reply.status == 200);
        }
    }
    admitted
}

async fn redis_decisions(app: &TestApp) -> f64 {
    metric(
        app,
        "cryptoserve_rate_limit_decisions_total",
        "source=\"redis\"",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_redis_falls_back_without_errors_and_redis_decides_again_after_restart() {
    let _serial = serial().await;
    let mut redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    let deployment = Deployment::sqlite().with_redis(redis.url());
    let fleet = Fleet::start(deployment, INSTANCES as usize, |s| {
        s.rate_limit_fallback_instances = INSTANCES;
        // Generous, so a slow moment on a busy machine is not mistaken for an outage.
        s.redis_timeout_ms = 500;
    })
    .await;
    let (load_token, load_id) = fleet.identity().await;
    let (probe_token, probe_id) = fleet.identity().await;
    fleet.limit_identity(&probe_id, 1, PROBE_BURST).await;
    fleet
        .limit_identity(&load_id, UNLIMITED.0, UNLIMITED.1)
        .await;
    let since = Instant::now();
    for app in &fleet.apps {
        let seen = wait_for_limit(
            app,
            &load_token,
            UNLIMITED.0.into(),
            since,
            Duration::from_secs(10),
        );
        assert!(
            seen.await.is_some(),
            "override never reached {}",
            app.address
        );
    }

    // A steady run; Redis dies in the middle of it.
    let load = Load::start(&fleet.apps, &load_token, 6, None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = Instant::now();
    redis = blocking(move || {
        redis.kill().expect("redis-server is killed");
        redis
    })
    .await;

    // While it is down: the fallback decides, readiness holds, the split limit is exact.
    // A check that was on the wire when Redis died may wait out its 500 ms timeout before
    // the fallback answers it, so allow a few of those.
    for app in &fleet.apps {
        let deadline = Instant::now() + Duration::from_secs(5);
        while fallback_decisions(app).await == 0.0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let fallback = fallback_decisions(app).await;
        assert!(
            fallback > 0.0,
            "{}: no fallback decisions {:?} after the kill",
            app.address,
            killed.elapsed()
        );
        let (status, body) = readiness(app).await;
        assert_eq!(status, 200, "readiness while Redis is down: {body}");
        assert_eq!(body["checks"]["redis"]["status"], "degraded", "{body}");
    }
    let admitted_while_down = admitted_round_robin(&fleet.apps, &probe_token).await;
    assert_eq!(
        admitted_while_down, PROBE_BURST as usize,
        "each instance's fallback admits burst / fallback_instances"
    );

    // Back again (empty: no keys, no scripts).
    let (restarted, restarted_at) = blocking(move || {
        redis.restart().expect("redis-server restarts");
        (redis, Instant::now())
    })
    .await;
    redis = restarted;
    // Redis decides again when, over a quiet interval with load flowing, every instance made
    // Redis decisions and none fell back.
    let mut recovered_after = None;
    while restarted_at.elapsed() < Duration::from_secs(15) {
        let checked_at = restarted_at.elapsed();
        let mut before = Vec::new();
        for app in &fleet.apps {
            before.push((fallback_decisions(app).await, redis_decisions(app).await));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut quiet = true;
        for (app, (fallback, decided)) in fleet.apps.iter().zip(before) {
            quiet &=
                fallback_decisions(app).await == fallback && redis_decisions(app).await > decided;
        }
        if quiet {
            recovered_after = Some(checked_at);
            break;
        }
    }
    let samples = load.finish().await;

    let recovered_after = recovered_after.expect("Redis never decided again");
    println!(
        "outage: {} requests ({} while down), Redis deciding again {recovered_after:?} after restart",
        samples.len(),
        samples.iter().filter(|s| s.sent > killed && s.received < restarted_at).count(),
    );
    assert!(
        recovered_after < Duration::from_secs(5),
        "Redis decided again only after {recovered_after:?}"
    );
    // The shared limit is exact again: the fresh Redis bucket admits the burst once, across
    // all instances (the fallback buckets of this identity are empty by now).
    let admitted_after = admitted_round_robin(&fleet.apps, &probe_token).await;
    assert_eq!(admitted_after, PROBE_BURST as usize, "after the restart");
    let odd = undecided(&samples);
    assert!(
        odd.is_empty(),
        "requests not decided (5xx, errors, hangs): {odd:?}"
    );
    let down: Vec<_> = samples
        .iter()
        .filter(|s| s.sent > killed && s.received < restarted_at)
        .cloned()
        .collect();
    assert!(
        count(&down, 200) > 0,
        "nothing was admitted while Redis was down"
    );
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_refuses_while_redis_is_down() {
    let mut redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    let deployment = Deployment::sqlite().with_redis(redis.url());
    let fleet = Fleet::start(deployment, 1, |s| s.rate_limit_fail_mode = FailMode::Closed).await;
    let app = &fleet.apps[0];
    let (token, _) = fleet.identity().await;
    assert_eq!(encrypt(app, &token).await.status, 200, "Redis up: admitted");

    redis = blocking(move || {
        redis.kill().expect("redis-server is killed");
        redis
    })
    .await;
    for attempt in 0..10 {
        let reply = encrypt(app, &token).await;
        assert_eq!(
            reply.status, 429,
            "attempt {attempt} while Redis is down: {reply:?}"
        );
        assert_eq!(reply.code(), "rate_limited");
        assert_eq!(reply.retry_after, Some(1));
    }

    redis = blocking(move || {
        redis.restart().expect("redis-server restarts");
        redis
    })
    .await;
    let back = Instant::now();
    loop {
        let reply = encrypt(app, &token).await;
        assert!(reply.status == 200 || reply.status == 429, "{reply:?}");
        if reply.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "still refusing after restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "fail-closed: admitted again {:?} after restart",
        back.elapsed()
    );
    drop(redis);
}

/// A Redis that is connected but not answering (`DEBUG SLEEP`) must not hold requests up:
/// each check gives up after the Redis timeout (50 ms by default) and the fallback decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_does_not_hold_requests_up() {
    let _serial = serial().await;
    let options = RedisOptions {
        extra_args: vec!["--enable-debug-command".into(), "yes".into()],
        ..RedisOptions::default()
    };
    let redis = blocking(|| RedisServer::start_with(options).expect("redis-server starts")).await;
    let fleet = Fleet::start(Deployment::sqlite().with_redis(redis.url()), 1, |_| {}).await;
    let app = &fleet.apps[0];
    let (token, _) = fleet.identity().await;
    assert_eq!(encrypt(app, &token).await.status, 200);

    let port = redis.port().to_string();
    let stall = tokio::task::spawn_blocking(move || {
        std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port, "DEBUG", "SLEEP", "3"])
            .output()
            .expect("redis-cli runs")
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut slowest = Duration::ZERO;
    for attempt in 0..5 {
        let started = Instant::now();
        let reply = encrypt(app, &token).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(reply.status, 200, "attempt {attempt}: {reply:?}");
    }
    let stalled = stall.is_finished();
    assert!(
        !stalled,
        "Redis woke up before the requests were made; the test proves nothing"
    );
    println!("stalled Redis: slowest answer {slowest:?}");
    assert!(fallback_decisions(app).await >= 5.0, "the fallback decided");
    assert!(
        slowest < Duration::from_secs(1),
        "a request waited {slowest:?} for Redis"
    );
    stall.await.unwrap();

    // Awake again: Redis decides (the fallback count stops moving) within 5 s.
    let awake = Instant::now();
    loop {
        let before = fallback_decisions(app).await;
        assert_eq!(encrypt(app, &token).await.status, 200);
        if fallback_decisions(app).await == before {
            break;
        }
        assert!(
            awake.elapsed() < Duration::from_secs(5),
            "Redis does not decide again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
