//! Through PgBouncer in transaction mode: migrations say they need a direct connection, the
//! health ping reaches PostgreSQL, the store's statements never leave their transaction even
//! without `pgbouncer=true`, and a snapshot export works. (Every `on_every_backend!` scenario
//! also runs through PgBouncer.)

use cryptoserve_store::{AuditKey, PoolSettings, Store, StoreError};

use crate::helpers::{audit, shared_pgbouncer, shared_postgres, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_through_pgbouncer_are_refused_with_directions() {
    let db = TestDb::pgbouncer().await;
    let error = db.store.migrate().await.unwrap_err();
    let StoreError::PgBouncer(message) = &error else {
        panic!("expected a PgBouncer error, got {error:?}");
    };
    assert!(message.contains("direct connection"), "{message}");
    assert!(message.contains("cryptoserve migrate"), "{message}");
    assert!(message.contains("--no-migrate"), "{message}");
}

/// Without `pgbouncer=true` the store's own statements still never leave their transaction:
/// 40 client connections on 3 server connections, reading and writing at once, see no error
/// and the chain stays whole. (The flag only refuses migrations and makes pings reach
/// PostgreSQL.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_flag_the_store_still_never_mixes_up_statements() {
    let server = shared_postgres();
    let bouncer = shared_pgbouncer(&server);
    let db = TestDb::pgbouncer().await;
    let name = db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let unflagged = Store::connect(
        &bouncer.url_without_flag(name),
        &PoolSettings::default(),
        AuditKey::new([7; 32]),
    )
    .await
    .unwrap();
    assert!(!unflagged.through_pgbouncer());
    let failures = concurrent_load(&unflagged).await;
    assert!(failures.is_empty(), "{failures:?}");
    let verification = unflagged.verify_audit_chain().await.unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.rows_checked, 40 * 5);
}

/// 40 tasks each append an audit row, list the audit log and read the change counter, five
/// times; the errors.
async fn concurrent_load(store: &Store) -> Vec<StoreError> {
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut errors = Vec::new();
                for i in 0..5 {
                    let entry = audit("context.create", &format!("c{i}"));
                    if let Err(error) = store.record_audit(entry).await {
                        errors.push(error);
                    }
                    if let Err(error) = store.list_audit(None, None, 10).await {
                        errors.push(error);
                    }
                    if let Err(error) = store.change_counter().await {
                        errors.push(error);
                    }
                }
                errors
            })
        })
        .collect();
    let mut errors = Vec::new();
    for task in tasks {
        errors.extend(task.await.unwrap());
    }
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_snapshot_export_works_through_pgbouncer() {
    let db = TestDb::pgbouncer().await;
    for i in 0..3 {
        db.store
            .record_audit(audit("context.create", &format!("c{i}")))
            .await
            .unwrap();
    }
    let tables = db.store.export_tables().await.unwrap();
    let audit_rows = tables
        .row_counts()
        .into_iter()
        .find(|(table, _)| *table == "admin_audit_log")
        .map(|(_, rows)| rows);
    assert_eq!(audit_rows, Some(3));
}

/// A protocol-level ping would be answered by PgBouncer alone; with the flag the ping is a
/// query, so it fails while PostgreSQL is down and works again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_health_ping_reaches_postgresql_through_pgbouncer() {
    let mut server = cryptoserve_testkit::postgres::Postgres::start().unwrap();
    let bouncer = cryptoserve_testkit::pgbouncer::PgBouncer::start(&server).unwrap();
    let store = Store::connect(
        &bouncer.url("cryptoserve"),
        &PoolSettings::default(),
        AuditKey::new([7; 32]),
    )
    .await
    .unwrap();
    store.ping().await.unwrap();
    server.stop().unwrap();
    let down = tokio::time::timeout(std::time::Duration::from_secs(30), store.ping())
        .await
        .expect("the ping answers while PostgreSQL is down");
    assert!(down.is_err(), "ping succeeded with PostgreSQL stopped");
    server.start_again().unwrap();
    let mut back = false;
    for _ in 0..100 {
        if store.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "ping never recovered:\n{}", bouncer.log());
}
