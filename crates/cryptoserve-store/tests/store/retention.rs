//! Retention purges with an injected clock: expired revocations and old usage rows go, in
//! bounded batches, and running the purge twice or on two "instances" at once is safe.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use cryptoserve_store::{PoolSettings, Store, StoreError, UsageRow};

use crate::helpers::{audit, audit_key, on_every_backend, TestDb};

on_every_backend!(
    expired_revocations_are_purged_and_live_ones_kept,
    old_usage_rows_are_purged_in_batches,
    concurrent_purges_delete_each_row_once,
);

fn usage_at(minute: DateTime<Utc>, identity: &str) -> UsageRow {
    UsageRow {
        minute,
        identity_id: identity.to_owned(),
        context: "orders".to_owned(),
        operation: "encrypt".to_owned(),
        outcome: "success".to_owned(),
        count: 1,
        bytes: 10,
    }
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap()
}

async fn revoke(db: &TestDb, jti: &str, expires_at: DateTime<Utc>) {
    db.store
        .revoke_token(jti, "svc", expires_at, audit("token.revoke", jti))
        .await
        .unwrap();
}

async fn expired_revocations_are_purged_and_live_ones_kept(db: &TestDb) {
    let now = Utc::now();
    for (index, hours_ago) in [5, 4, 3, 2, 1].into_iter().enumerate() {
        revoke(
            db,
            &format!("old-{index}"),
            now - TimeDelta::hours(hours_ago),
        )
        .await;
    }
    revoke(db, "live", now + TimeDelta::hours(1)).await;
    let audit_rows = db.audit_count("token.revoke", "success").await;

    // Batches of 2: three statements for five rows, and the live one stays.
    let purged = db.store.purge_expired_revoked_tokens(now, 2).await.unwrap();
    assert_eq!(purged, 5);
    assert_eq!(db.store.revoked_token_ids().await.unwrap(), ["live"]);
    // Idempotent: nothing left to purge.
    assert_eq!(
        db.store.purge_expired_revoked_tokens(now, 2).await.unwrap(),
        0
    );
    // Two hours later (an injected clock, no sleeping) the live one has expired too.
    let later = now + TimeDelta::hours(2);
    assert_eq!(
        db.store
            .purge_expired_revoked_tokens(later, 1000)
            .await
            .unwrap(),
        1
    );
    let far_future = now + TimeDelta::days(365);
    assert_eq!(
        db.store
            .purge_expired_revoked_tokens(far_future, 1000)
            .await
            .unwrap(),
        0,
        "no revoked-token row is left"
    );
    // Housekeeping writes no audit row.
    assert_eq!(db.audit_count("token.revoke", "success").await, audit_rows);
}

async fn old_usage_rows_are_purged_in_batches(db: &TestDb) {
    let store = &db.store;
    // 2 500 rows at `base`, one a minute later, and one at each of the next three days.
    let old: Vec<_> = (0..2500).map(|_| usage_at(base(), "bulk")).collect();
    store.insert_usage_batch(&old).await.unwrap();
    let mut recent = vec![usage_at(base() + TimeDelta::minutes(1), "edge")];
    recent.extend((1..=3).map(|day| usage_at(base() + TimeDelta::days(day), "recent")));
    store.insert_usage_batch(&recent).await.unwrap();

    // Cutoff one minute after `base`: the row exactly at the cutoff is kept (strictly older
    // rows go). 2 500 rows in batches of 1 000: three statements.
    let cutoff = base() + TimeDelta::minutes(1);
    assert_eq!(store.purge_usage_before(cutoff, 1000).await.unwrap(), 2500);
    let left = store.query_usage(None, None, None).await.unwrap();
    assert_eq!(left.len(), 4);
    assert_eq!(left[0].identity_id, "edge");
    assert_eq!(store.purge_usage_before(cutoff, 1000).await.unwrap(), 0);

    // "90 days of retention", evaluated as if it were base + 92 days.
    let now = base() + TimeDelta::days(92);
    let kept = store
        .purge_usage_before(now - TimeDelta::days(90), 1)
        .await
        .unwrap();
    assert_eq!(kept, 2, "the edge row and day 1 are older than 90 days");
    let left = store.query_usage(None, None, None).await.unwrap();
    assert_eq!(
        left.iter().map(|row| row.minute).collect::<Vec<_>>(),
        [base() + TimeDelta::days(2), base() + TimeDelta::days(3)]
    );

    let zero = store.purge_usage_before(now, 0).await.unwrap_err();
    assert!(matches!(zero, StoreError::InvalidInput(_)), "{zero:?}");
}

/// Two instances purging at the same moment: every row is deleted exactly once, so the two
/// counts add up to the rows there were.
async fn concurrent_purges_delete_each_row_once(db: &TestDb) {
    let other = Store::connect(&db.url, &PoolSettings::default(), audit_key())
        .await
        .unwrap();
    let rows: Vec<_> = (0..3000).map(|_| usage_at(base(), "bulk")).collect();
    db.store.insert_usage_batch(&rows).await.unwrap();
    let now = Utc::now();
    for index in 0..40 {
        revoke(db, &format!("gone-{index}"), now - TimeDelta::minutes(10)).await;
    }

    let cutoff = base() + TimeDelta::days(1);
    let (first, second) = tokio::join!(
        db.store.purge_usage_before(cutoff, 250),
        other.purge_usage_before(cutoff, 250)
    );
    assert_eq!(first.unwrap() + second.unwrap(), 3000);
    let (first, second) = tokio::join!(
        db.store.purge_expired_revoked_tokens(now, 7),
        other.purge_expired_revoked_tokens(now, 7)
    );
    assert_eq!(first.unwrap() + second.unwrap(), 40);
    assert!(db
        .store
        .query_usage(None, None, None)
        .await
        .unwrap()
        .is_empty());
    other.close().await.unwrap();
}
