//! The Redis limiter against a real 3-master Redis Cluster, where the buckets of one request
//! live in different hash slots (and on different nodes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{admitted_over, assert_near, limiters, policy};
use cryptoserve_ratelimit::{Check, DecisionSource, Dimension};
use cryptoserve_testkit::redis::RedisCluster;
use fred::util::redis_keyslot;

fn slot(dimension: &str, key: &str) -> u16 {
    redis_keyslot(format!("cs:rl:{dimension}:{key}").as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_exact_across_instances_and_all_or_nothing() {
    let cluster = RedisCluster::start(3).unwrap();
    let instances = limiters(&cluster.url(), 3).await;
    assert_eq!(instances[0].health().mode, "redis-cluster");
    assert!(
        instances[0].lane().is_none(),
        "cluster checks span nodes: no per-thread lanes"
    );

    // The three buckets of these requests hash to three different slots.
    let (ip, identity, context) = ("10.0.0.1", "alice", "payments");
    let slots = [
        slot("ip", ip),
        slot("identity", identity),
        slot("context", context),
    ];
    assert!(
        slots[0] != slots[1] && slots[1] != slots[2] && slots[0] != slots[2],
        "{slots:?}"
    );

    // Exactness, with the limiting bucket in one slot and generous ones (which get refunded
    // on every denial) in the others.
    let (rpm, burst, window) = (6000, 50, Duration::from_secs(3));
    let checks = vec![
        Check::new(Dimension::Ip, ip, policy(600_000, 10_000)),
        Check::new(Dimension::Identity, identity, policy(600_000, 10_000)),
        Check::new(Dimension::Context, context, policy(rpm, burst)),
    ];
    let admitted = admitted_over(&instances, checks, window).await;
    assert_near(admitted, burst, rpm, window);

    // All-or-nothing across slots: identity denies, ip and context must be refunded.
    let request = |identity: &str, identity_burst: u32| {
        vec![
            Check::new(Dimension::Ip, "10.9.9.9", policy(60, 5)),
            Check::new(Dimension::Identity, identity, policy(60, identity_burst)),
            Check::new(Dimension::Context, "ledger", policy(60, 4)),
        ]
    };
    assert!(instances[0].check(&request("carol", 2), 1).await.allowed);
    assert!(instances[1].check(&request("carol", 2), 1).await.allowed);
    for i in 0..10 {
        let denied = instances[i % 3].check(&request("carol", 2), 1).await;
        assert!(!denied.allowed);
        assert_eq!(denied.denied_by, Some(Dimension::Identity));
        assert_eq!(denied.source, DecisionSource::Redis);
    }
    assert!(instances[2].check(&request("dave", 10), 1).await.allowed);
    assert!(instances[0].check(&request("dave", 10), 1).await.allowed);
    let denied = instances[1].check(&request("dave", 10), 1).await;
    assert_eq!(denied.denied_by, Some(Dimension::Context), "{denied:?}");
    assert!(instances.iter().all(|l| l.stats().fallback_decisions == 0));
}
