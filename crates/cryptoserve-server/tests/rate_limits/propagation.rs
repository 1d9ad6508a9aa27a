//! Policy propagation: a change made through instance 1 is enforced by instances 2 and 3
//! within 1 s (Redis pub/sub), converges by polling when there is no pub/sub, and survives a
//! restart of every instance.
//!
//! "Enforced" is observed the way a client sees it: `X-RateLimit-Limit` on a crypto response
//! of the changed identity. The new override is small enough (burst 10) to be the tightest
//! bucket whether the request is admitted or refused, and ip/context are non-binding.

use std::time::{Duration, Instant};

use serde_json::Value;

use cryptoserve_testkit::redis::RedisServer;

use crate::helpers::{
    blocking, encrypt, fallback_decisions, serial, spawn_numbered, wait_for_limit, Fleet,
};
use crate::support::Deployment;

const NEW_RATE: u32 = 1_234;
const NEW_BURST: u32 = 10;
const DEFAULT_IDENTITY_RATE: u64 = 100;

/// How long each instance after the first took, from `since`, to show `limit`.
async fn times_until_limit(
    fleet: &Fleet,
    token: &str,
    limit: u64,
    since: Instant,
) -> Vec<Option<Duration>> {
    let give_up = Duration::from_secs(10);
    let waits = fleet.apps[1..]
        .iter()
        .map(|app| wait_for_limit(app, token, limit, since, give_up));
    futures::future::join_all(waits).await
}

/// Changes the identity override on instance 1 and returns how long the other instances
/// took to show it, measured from the moment the PUT returned.
async fn propagation_times(fleet: &Fleet, token: &str, id: &str) -> Vec<Option<Duration>> {
    // Every instance starts on the default identity policy.
    for app in &fleet.apps {
        assert_eq!(encrypt(app, token).await.limit, Some(DEFAULT_IDENTITY_RATE));
    }
    fleet.limit_identity(id, NEW_RATE, NEW_BURST).await;
    let changed = Instant::now();
    assert_eq!(
        encrypt(&fleet.apps[0], token).await.limit,
        Some(u64::from(NEW_RATE)),
        "instance 1 applies its own change at once"
    );
    times_until_limit(fleet, token, NEW_RATE.into(), changed).await
}

/// Asserts every instance after the first took under a second.
fn assert_within_a_second(what: &str, times: &[Option<Duration>]) {
    println!("{what}: {times:?}");
    for (number, time) in (2..).zip(times) {
        let time = time.unwrap_or_else(|| panic!("{what}: instance {number} never saw it"));
        assert!(
            time < Duration::from_secs(1),
            "{what}: instance {number} took {time:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_is_enforced_by_the_others_within_a_second_and_survives_restarts()
{
    let _serial = serial().await;
    let redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    // Polling every minute: within the test only pub/sub can deliver the change.
    let slow_poll = |s: &mut cryptoserve_server::config::Settings| s.cache_refresh_ms = 60_000;
    let deployment = Deployment::sqlite().with_redis(redis.url());
    let fleet = Fleet::start(deployment, 3, slow_poll).await;
    let (token, id) = fleet.identity().await;

    let times = propagation_times(&fleet, &token, &id).await;
    assert_within_a_second("pub/sub propagation of a PUT", &times);

    // Restart every instance: the new ones read the override from the database.
    let Fleet {
        deployment,
        apps,
        admin,
    } = fleet;
    drop(apps);
    let mut apps = Vec::new();
    for number in 1..=3 {
        let app = spawn_numbered(&deployment, number, &slow_poll).await;
        let first = encrypt(&app, &token).await;
        assert_eq!(
            first.limit,
            Some(u64::from(NEW_RATE)),
            "restarted instance {number} enforces the stored override: {first:?}"
        );
        let listed: Value = app
            .get("/api/admin/rate-limits", Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        let stored = &listed["identities"][&id];
        assert_eq!(
            stored["requests_per_minute"],
            u64::from(NEW_RATE),
            "{listed}"
        );
        assert_eq!(stored["burst_size"], u64::from(NEW_BURST), "{listed}");
        apps.push(app);
    }

    // A DELETE travels the same way: back to the default everywhere within a second.
    let fleet = Fleet {
        deployment,
        apps,
        admin,
    };
    let path = format!("/api/admin/rate-limits/identity/{id}");
    assert_eq!(
        fleet.apps[0].delete(&path, &fleet.admin).await.status(),
        204
    );
    let deleted = Instant::now();
    let times = times_until_limit(&fleet, &token, DEFAULT_IDENTITY_RATE, deleted).await;
    assert_within_a_second("pub/sub propagation of a DELETE", &times);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_still_propagate_by_pub_sub_after_redis_restarts() {
    let _serial = serial().await;
    let mut redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    let slow_poll = |s: &mut cryptoserve_server::config::Settings| s.cache_refresh_ms = 60_000;
    let fleet = Fleet::start(Deployment::sqlite().with_redis(redis.url()), 2, slow_poll).await;
    let (token, id) = fleet.identity().await;

    redis = blocking(move || {
        redis.restart().expect("redis-server restarts");
        redis
    })
    .await;
    // Wait until both instances decide in Redis again, then give the subscriber connection
    // the documented reconnect time (backoff up to 1 s) on top.
    let restarted = Instant::now();
    for app in &fleet.apps {
        loop {
            let before = fallback_decisions(app).await;
            let reply = encrypt(app, &token).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            if fallback_decisions(app).await == before {
                break;
            }
            assert!(
                restarted.elapsed() < Duration::from_secs(5),
                "Redis is not back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let times = propagation_times(&fleet, &token, &id).await;
    assert_within_a_second("pub/sub propagation after a Redis restart", &times);
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pub_sub_the_periodic_reload_converges() {
    let _serial = serial().await;
    // No Redis: in-process limiters and no channel; only the change-counter poll (default
    // every 1000 ms) can carry the change.
    let fleet = Fleet::start(Deployment::sqlite(), 3, |_| {}).await;
    let refresh = Duration::from_millis(fleet.apps[1].settings.cache_refresh_ms);
    let (token, id) = fleet.identity().await;

    let times = propagation_times(&fleet, &token, &id).await;
    println!("propagation by polling every {refresh:?}: {times:?}");
    for (number, time) in (2..).zip(&times) {
        let time = time.unwrap_or_else(|| panic!("instance {number} never enforced the change"));
        // One poll interval, plus a second of slack for the reload on a busy machine.
        assert!(
            time < refresh + Duration::from_secs(1),
            "instance {number} took {time:?} with a {refresh:?} poll"
        );
    }
}
