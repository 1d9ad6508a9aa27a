//! A PostgreSQL outage surfaces as `Unavailable` and the pool recovers afterwards.

use std::time::Duration;

use cryptoserve_store::{PoolSettings, Store, StoreError};
use cryptoserve_testkit::postgres::Postgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_reports_unavailable_then_recovers() {
    let mut server = Postgres::start().unwrap();
    let settings = PoolSettings {
        acquire_timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(2),
        ..PoolSettings::default()
    };
    let store = Store::connect(&server.url(), &settings, crate::helpers::audit_key())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();

    server.stop().unwrap();
    let error = store.change_counter().await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let connect_error = Store::connect(&server.url(), &settings, crate::helpers::audit_key())
        .await
        .unwrap_err();
    assert!(
        matches!(connect_error, StoreError::Unavailable(_)),
        "{connect_error:?}"
    );

    server.start_again().unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if store.change_counter().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "store did not recover after postgres restarted");
}
