//! Exactness: three instances sharing one Redis (standalone, then a 3-master cluster) admit,
//! together, what one GCRA bucket admits — `burst + rate × window`, within 2 %.
//!
//! The limit under test is an identity override of 6000/min (100/s) with burst 50, so a 3 s
//! window admits about 350; ip and context are raised out of the way. The window is measured
//! from both ends: the first decision happened between the first request's send and the first
//! response, the last one between the last send and the last response. The count must lie
//! within 2 % of `burst + rate × window` for windows between those bounds.

use std::time::{Duration, Instant};

use cryptoserve_testkit::exactness::{self, AdmissionBound};
use cryptoserve_testkit::redis::{RedisCluster, RedisOptions, RedisServer};

use crate::helpers::{blocking, encrypt, fallback_decisions, serial, Fleet};
use crate::load::{count, undecided, Load};
use crate::support::Deployment;

const RATE_PER_MINUTE: u32 = 6_000;
const BURST: u32 = 50;
const WINDOW: Duration = Duration::from_secs(3);
const WORKERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_redis_admit_burst_plus_rate_times_window() {
    let _serial = serial().await;
    let redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    admitted_across_three_instances(redis.url(), "standalone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_a_redis_cluster_admit_burst_plus_rate_times_window() {
    let _serial = serial().await;
    let cluster = blocking(|| RedisCluster::start(3).expect("redis cluster starts")).await;
    admitted_across_three_instances(cluster.url(), "cluster").await;
}

async fn admitted_across_three_instances(redis_url: String, label: &str) {
    // Arrange: a generous Redis timeout, so a slow moment on a busy machine is not decided
    // by the fallback (which would be a different test); we also check it never decided.
    let deployment = Deployment::sqlite().with_redis(redis_url);
    let fleet = Fleet::start(deployment, 3, |s| s.redis_timeout_ms = 2_000).await;
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, RATE_PER_MINUTE, BURST).await;
    let since = Instant::now();
    for app in &fleet.apps {
        let seen = crate::helpers::wait_for_limit(
            app,
            &token,
            u64::from(RATE_PER_MINUTE),
            since,
            Duration::from_secs(10),
        )
        .await;
        assert!(
            seen.is_some(),
            "{}: the override never arrived",
            app.address
        );
    }
    fleet.reset_identity(&id).await;

    // Act
    let started = Instant::now();
    let samples = Load::start(&fleet.apps, &token, WORKERS, Some(started + WINDOW))
        .join()
        .await;

    // Assert
    let odd = undecided(&samples);
    assert!(odd.is_empty(), "{label}: requests not decided: {odd:?}");
    let admitted = count(&samples, 200);
    let denied = count(&samples, 429);
    let bound = AdmissionBound::of(
        samples.iter().map(|s| (s.sent, s.received)),
        RATE_PER_MINUTE,
        BURST,
    )
    .unwrap();
    let (shortest, longest, low, high) = (bound.shortest, bound.longest, bound.low, bound.high);
    let expected = |window: Duration| exactness::admitted(RATE_PER_MINUTE, BURST, window);
    println!(
        "exactness[{label}]: admitted {admitted}, denied {denied}, window {:.3}-{:.3} s, \
         expected {:.1}-{:.1} (nominal {:.0} for {} s); bounds ±2 %: {low:.1}-{high:.1}",
        shortest.as_secs_f64(),
        longest.as_secs_f64(),
        expected(shortest),
        expected(longest),
        expected(WINDOW),
        WINDOW.as_secs(),
    );
    // The bucket must have been saturated the whole time, or the count says nothing.
    assert!(
        denied > admitted,
        "{label}: not enough load to saturate the limit (admitted {admitted}, denied {denied})"
    );
    let mut fallback = 0.0;
    for app in &fleet.apps {
        fallback += fallback_decisions(app).await;
    }
    assert_eq!(fallback, 0.0, "{label}: the fallback decided some requests");
    let admitted = admitted as f64;
    assert!(
        (low..=high).contains(&admitted),
        "{label}: {admitted} admitted, expected {low:.1}-{high:.1}"
    );
}

/// Redis AUTH: with the password in the URL two instances share one bucket exactly (5 of 10
/// admitted, none by the fallback); with a wrong password requests are still decided (by the
/// per-instance fallback), never failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_authenticates_and_a_wrong_one_falls_back() {
    let options = RedisOptions {
        password: Some("s3cret-pw".into()),
        ..RedisOptions::default()
    };
    let redis = blocking(|| RedisServer::start_with(options).expect("redis-server starts")).await;
    let fleet = Fleet::start(Deployment::sqlite().with_redis(redis.url()), 2, |_| {}).await;
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, 1, 5).await;
    let mut admitted = 0;
    for round in 0..10 {
        let reply = encrypt(&fleet.apps[round % 2], &token).await;
        admitted += usize::from(reply.status == 200);
    }
    assert_eq!(admitted, 5, "one shared bucket");
    for app in &fleet.apps {
        assert_eq!(
            fallback_decisions(app).await,
            0.0,
            "{} fell back",
            app.address
        );
    }

    let wrong_url = redis.url().replace("s3cret-pw", "wrong-pw");
    let wrong =
        crate::helpers::spawn_numbered(&Deployment::sqlite().with_redis(wrong_url), 1, &|_| {})
            .await;
    let admin = wrong.admin_token().await;
    wrong
        .create_context(&admin, crate::helpers::CONTEXT, "aes-256-gcm")
        .await;
    let reply = encrypt(&wrong, &admin).await;
    assert_eq!(reply.status, 200, "decided by the fallback: {reply:?}");
    assert!(fallback_decisions(&wrong).await > 0.0);
}
