//! Migrations and connection basics.

use crate::helpers::{on_both_backends, TestDb};

on_both_backends!(
    migrations_are_idempotent_and_seed_the_counter,
    pool_status_reflects_settings
);

async fn migrations_are_idempotent_and_seed_the_counter(db: &TestDb) {
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    assert_eq!(db.store.change_counter().await.unwrap(), 0);
    assert!(db.store.list_contexts().await.unwrap().is_empty());
    db.store.ping().await.unwrap();
}

async fn pool_status_reflects_settings(db: &TestDb) {
    let status = db.store.pool_status();
    let expected_max = if db.store.backend() == "postgres" {
        30
    } else {
        4
    };
    assert_eq!(status.max, expected_max);
    assert!(status.size >= 1 && status.size <= status.max);
    assert_eq!(status.idle + status.in_use, status.size);
    assert!(db.url.starts_with(db.store.backend()));
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_data_on_one_connection() {
    let store = cryptoserve_store::Store::connect(
        "sqlite::memory:",
        &cryptoserve_store::PoolSettings::default(),
        crate::helpers::audit_key(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
        .record_audit(crate::helpers::audit("test.event", "x"))
        .await
        .unwrap();
    assert_eq!(store.list_audit(None, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.pool_status().max, 1);
    assert_eq!(store.backend(), "sqlite");
}

#[tokio::test]
async fn asyncpg_urls_reach_postgres() {
    let db = TestDb::postgres().await;
    let asyncpg = db.url.replacen("postgres://", "postgresql+asyncpg://", 1);
    let store = cryptoserve_store::Store::connect(
        &asyncpg,
        &cryptoserve_store::PoolSettings::default(),
        crate::helpers::audit_key(),
    )
    .await
    .unwrap();
    assert_eq!(store.backend(), "postgres");
    assert_eq!(store.change_counter().await.unwrap(), 0);
    store.close().await.unwrap();
}
