//! Rate-limit policy upsert and delete.

use cryptoserve_store::{RateLimitDimension, RateLimitScope};

use crate::helpers::{audit, on_every_backend, TestDb};

on_every_backend!(upsert_replaces_and_delete_reports_existence);

async fn upsert_replaces_and_delete_reports_existence(db: &TestDb) {
    let store = &db.store;
    let created = store
        .upsert_rate_limit_policy(
            RateLimitScope::Context,
            RateLimitDimension::Identity,
            "orders",
            600,
            50,
            true,
            audit("ratelimit.upsert", "orders"),
        )
        .await
        .unwrap();
    assert_eq!((created.requests_per_minute, created.burst_size), (600, 50));
    store
        .upsert_rate_limit_policy(
            RateLimitScope::Default,
            RateLimitDimension::Ip,
            "",
            100,
            20,
            true,
            audit("ratelimit.upsert", "default"),
        )
        .await
        .unwrap();
    let updated = store
        .upsert_rate_limit_policy(
            RateLimitScope::Context,
            RateLimitDimension::Identity,
            "orders",
            120,
            5,
            false,
            audit("ratelimit.upsert", "orders"),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.requests_per_minute,
            updated.burst_size,
            updated.enabled
        ),
        (120, 5, false)
    );

    let policies = store.list_rate_limit_policies().await.unwrap();
    assert_eq!(policies.len(), 2, "{policies:?}");
    let orders = policies.iter().find(|p| p.key == "orders").unwrap();
    assert_eq!(orders, &updated);

    let deleted = store
        .delete_rate_limit_policy(
            RateLimitScope::Context,
            RateLimitDimension::Identity,
            "orders",
            audit("ratelimit.delete", "orders"),
        )
        .await
        .unwrap();
    assert!(deleted);
    let again = store
        .delete_rate_limit_policy(
            RateLimitScope::Context,
            RateLimitDimension::Identity,
            "orders",
            audit("ratelimit.delete", "orders"),
        )
        .await
        .unwrap();
    assert!(!again);
    let remaining = store.list_rate_limit_policies().await.unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].scope, RateLimitScope::Default);
    assert_eq!(db.audit_count("ratelimit.upsert", "success").await, 3);
}
