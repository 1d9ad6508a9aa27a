//! Accounting and headers, on both backends (in-process and Redis): a denied request consumes
//! nothing from any dimension, `X-RateLimit-*` counts down one per request, a batch costs its
//! item count, a batch that does not fit is refused whole, and a batch above the burst waits
//! for a full bucket.
//!
//! Policies use one request a minute, so nothing refills while a test runs and every count is
//! exact; ip and context are non-binding unless a test says otherwise.

use cryptoserve_testkit::redis::RedisServer;

use crate::helpers::{batch, blocking, encrypt, put_policy, Fleet, CONTEXT, UNLIMITED};
use crate::support::Deployment;

async fn redis() -> (RedisServer, Deployment) {
    let redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    let deployment = Deployment::sqlite().with_redis(redis.url());
    (redis, deployment)
}

async fn denied_requests_consume_nothing(deployment: Deployment) {
    let fleet = Fleet::start(deployment, 1, |_| {}).await;
    let app = &fleet.apps[0];
    let context_path = format!("/api/admin/rate-limits/context/{CONTEXT}");
    put_policy(app, &fleet.admin, &context_path, 1, 50).await;
    let (limited, limited_id) = fleet.identity().await;
    fleet.limit_identity(&limited_id, 1, 2).await;
    // For this one the context bucket is the tightest, so its headers show the context level.
    let (observer, observer_id) = fleet.identity().await;
    fleet
        .limit_identity(&observer_id, UNLIMITED.0, UNLIMITED.1)
        .await;

    let first = encrypt(app, &observer).await;
    assert_eq!(
        (first.status, first.limit, first.remaining),
        (200, Some(1), Some(49))
    );
    for _ in 0..2 {
        assert_eq!(encrypt(app, &limited).await.status, 200);
    }
    for attempt in 0..5 {
        let refused = encrypt(app, &limited).await;
        assert_eq!(refused.status, 429, "attempt {attempt}: {refused:?}");
        assert!(refused.message().contains("identity limit"), "{refused:?}");
    }
    let last = encrypt(app, &observer).await;
    assert_eq!(
        last.remaining,
        Some(46),
        "the context paid for 2 + 2 admitted requests and none of the 5 refused: {last:?}"
    );
}

async fn headers_count_down_one_per_request(deployment: Deployment) {
    let fleet = Fleet::start(deployment, 1, |_| {}).await;
    let app = &fleet.apps[0];
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, 1, 5).await;

    for taken in 1..=5u64 {
        let reply = encrypt(app, &token).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.limit, Some(1), "{reply:?}");
        assert_eq!(reply.remaining, Some(5 - taken), "{reply:?}");
        // Full again after `taken` minutes (minus the few ms since the first request).
        let reset = reply.reset.expect("X-RateLimit-Reset");
        assert!((60 * taken - 1..=60 * taken).contains(&reset), "{reply:?}");
    }
    for attempt in 0..3 {
        let refused = encrypt(app, &token).await;
        assert_eq!(refused.status, 429, "attempt {attempt}: {refused:?}");
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!((refused.limit, refused.remaining), (Some(1), Some(0)));
        // The next slot frees in a minute; refusals do not push it back.
        let retry_after = refused.retry_after.expect("Retry-After");
        assert!((59..=60).contains(&retry_after), "{refused:?}");
        let reset = refused.reset.expect("X-RateLimit-Reset");
        assert!((299..=300).contains(&reset), "{refused:?}");
    }
}

async fn a_batch_costs_its_item_count(deployment: Deployment) {
    let fleet = Fleet::start(deployment, 1, |_| {}).await;
    let app = &fleet.apps[0];
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, 1, 20).await;

    assert_eq!(encrypt(app, &token).await.remaining, Some(19));
    let ten = batch(app, &token, 10).await;
    assert_eq!((ten.status, ten.remaining), (200, Some(9)), "{ten:?}");
    assert_eq!(ten.body["results"].as_array().map(Vec::len), Some(10));

    let too_big = batch(app, &token, 10).await;
    assert_eq!(too_big.status, 429, "10 items do not fit 9: {too_big:?}");
    assert!(too_big.message().contains("identity limit"), "{too_big:?}");
    let above_burst = batch(app, &token, 25).await;
    assert_eq!(
        above_burst.status, 429,
        "25 items above a burst of 20 wait for a full bucket"
    );

    assert_eq!(
        encrypt(app, &token).await.remaining,
        Some(8),
        "the refused batches consumed nothing"
    );
    let eight = batch(app, &token, 8).await;
    assert_eq!((eight.status, eight.remaining), (200, Some(0)), "{eight:?}");
}

/// docs/rate-limiting.md: "A cost above `burst_size` fits only a full bucket" — so the
/// refusal tells the client when the bucket is full again.
async fn a_batch_above_the_burst_waits_for_a_full_bucket(deployment: Deployment) {
    let fleet = Fleet::start(deployment, 1, |_| {}).await;
    let app = &fleet.apps[0];
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, 1, 5).await;
    assert_eq!(encrypt(app, &token).await.remaining, Some(4));

    let refused = batch(app, &token, 6).await;

    assert_eq!(
        (refused.status, refused.code()),
        (429, "rate_limited"),
        "{refused:?}"
    );
    assert!(refused.message().contains("identity limit"), "{refused:?}");
    let retry_after = refused.retry_after.expect("Retry-After");
    assert!(
        (59..=60).contains(&retry_after),
        "full again a minute after the one request: {refused:?}"
    );
    assert_eq!(
        encrypt(app, &token).await.remaining,
        Some(3),
        "nothing consumed"
    );
}

/// Issue 16 item 3: a maximal batch (100 items, `CRYPTOSERVE_MAX_BATCH_ITEMS`) under the
/// default identity policy (100/min, burst 20) is admitted from a full bucket, charged its 100
/// items, and the next one is refused with `Retry-After` until the bucket is full again.
async fn a_maximal_batch_fits_the_default_identity_limit(deployment: Deployment) {
    let fleet = Fleet::start(deployment, 1, |_| {}).await;
    let app = &fleet.apps[0];
    let (token, _) = fleet.identity().await;

    let first = batch(app, &token, 100).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["results"].as_array().map(Vec::len), Some(100));
    assert_eq!((first.limit, first.remaining), (Some(100), Some(0)));

    let second = batch(app, &token, 100).await;
    assert_eq!(
        (second.status, second.code()),
        (429, "rate_limited"),
        "{second:?}"
    );
    let retry_after = second.retry_after.expect("Retry-After");
    assert!(
        (59..=60).contains(&retry_after),
        "100 items at 100/min: full again in a minute: {second:?}"
    );
    let single = encrypt(app, &token).await;
    assert_eq!(single.status, 429, "{single:?}");
    let retry_after = single.retry_after.expect("Retry-After");
    assert!(
        (48..=49).contains(&retry_after),
        "one item fits once 12 s of the 60 s debt is left: {single:?}"
    );
}

#[tokio::test]
async fn denied_requests_consume_nothing_embedded() {
    denied_requests_consume_nothing(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_requests_consume_nothing_on_redis() {
    let (_redis, deployment) = redis().await;
    denied_requests_consume_nothing(deployment).await;
}

#[tokio::test]
async fn headers_count_down_one_per_request_embedded() {
    headers_count_down_one_per_request(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_count_down_one_per_request_on_redis() {
    let (_redis, deployment) = redis().await;
    headers_count_down_one_per_request(deployment).await;
}

#[tokio::test]
async fn a_batch_costs_its_item_count_embedded() {
    a_batch_costs_its_item_count(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_costs_its_item_count_on_redis() {
    let (_redis, deployment) = redis().await;
    a_batch_costs_its_item_count(deployment).await;
}

#[tokio::test]
async fn a_batch_above_the_burst_waits_for_a_full_bucket_embedded() {
    a_batch_above_the_burst_waits_for_a_full_bucket(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_above_the_burst_waits_for_a_full_bucket_on_redis() {
    let (_redis, deployment) = redis().await;
    a_batch_above_the_burst_waits_for_a_full_bucket(deployment).await;
}

#[tokio::test]
async fn a_maximal_batch_fits_the_default_identity_limit_embedded() {
    a_maximal_batch_fits_the_default_identity_limit(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maximal_batch_fits_the_default_identity_limit_on_redis() {
    let (_redis, deployment) = redis().await;
    a_maximal_batch_fits_the_default_identity_limit(deployment).await;
}
