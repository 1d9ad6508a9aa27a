//! The Transit API draws from the same buckets as the native API, on every instance: a Transit
//! key is a context and both front doors are admitted by the same code. Two instances share
//! one Redis; an identity gets a burst of 6 at one request a minute (nothing refills while the
//! test runs), spends it through both APIs on both instances, and is then refused on either,
//! Vault-style: 429 with `Retry-After` and `{"errors": [...]}`.

use cryptoserve_testkit::redis::RedisServer;
use serde_json::json;

use crate::helpers::{blocking, encrypt, spawn_numbered, Fleet, Reply, CONTEXT};
use crate::support::{b64, Deployment, TestApp};

async fn transit_encrypt(app: &TestApp, token: &str, items: usize) -> Reply {
    let body = if items == 1 {
        json!({ "plaintext": b64(b"rate limited") })
    } else {
        let batch: Vec<_> = (0..items)
            .map(|_| json!({ "plaintext": b64(b"rate limited") }))
            .collect();
        json!({ "batch_input": batch })
    };
    let response = app
        .client
        .post(format!("{}/v1/transit/encrypt/{CONTEXT}", app.address))
        .header("X-Vault-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    Reply::read(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_and_native_requests_share_one_cluster_wide_bucket() {
    let redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    let deployment = Deployment::sqlite().with_redis(redis.url());
    let mut fleet = Fleet::start(deployment, 1, |_| {}).await;
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, 1, 6).await;
    // The second instance starts after the override exists, so it reads it at start: an
    // instance still deciding with the old policy for a moment would refuse early.
    let second = spawn_numbered(&fleet.deployment, 2, &|_: &mut _| {}).await;
    fleet.apps.push(second);
    let (a, b) = (&fleet.apps[0], &fleet.apps[1]);

    let spent = [
        transit_encrypt(a, &token, 1).await,
        encrypt(b, &token).await,
        transit_encrypt(b, &token, 2).await, // a batch costs its item count
        encrypt(a, &token).await,
        transit_encrypt(a, &token, 1).await,
    ];
    for (i, reply) in spent.iter().enumerate() {
        assert_eq!(reply.status, 200, "request {i}: {reply:?}");
    }
    assert_eq!(
        spent[4].remaining,
        Some(0),
        "6 spent across APIs and instances"
    );

    for app in [a, b] {
        let refused = transit_encrypt(app, &token, 1).await;
        assert_eq!(refused.status, 429, "{refused:?}");
        assert!(refused.retry_after.is_some(), "{refused:?}");
        let errors = refused.body["errors"]
            .as_array()
            .expect("Vault error shape");
        assert!(
            errors[0].as_str().unwrap().contains("identity limit"),
            "{refused:?}"
        );
        assert_eq!(encrypt(app, &token).await.status, 429);
    }
}
