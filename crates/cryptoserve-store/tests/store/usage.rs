//! Usage counters: batch insert and filtered queries.

use chrono::{TimeDelta, TimeZone, Utc};
use cryptoserve_store::UsageRow;

use crate::helpers::{on_every_backend, TestDb};

on_every_backend!(batch_insert_and_query);

fn row(minute_offset: i64, identity: &str, context: &str, count: u64) -> UsageRow {
    let base = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    UsageRow {
        minute: base + TimeDelta::minutes(minute_offset) + TimeDelta::seconds(17),
        identity_id: identity.to_owned(),
        context: context.to_owned(),
        operation: "encrypt".to_owned(),
        outcome: "success".to_owned(),
        count,
        bytes: count * 100,
    }
}

async fn batch_insert_and_query(db: &TestDb) {
    let store = &db.store;
    store.insert_usage_batch(&[]).await.unwrap();
    let batch = vec![
        row(0, "svc-a", "orders", 3),
        row(1, "svc-a", "billing", 4),
        row(2, "svc-b", "orders", 5),
    ];
    store.insert_usage_batch(&batch).await.unwrap();
    store
        .insert_usage_batch(&[row(3, "svc-b", "orders", 6)])
        .await
        .unwrap();

    let all = store.query_usage(None, None, None).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[0].minute,
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
    );
    assert_eq!((all[0].count, all[0].bytes), (3, 300));

    let orders = store.query_usage(Some("orders"), None, None).await.unwrap();
    assert_eq!(
        orders.iter().map(|r| r.count).collect::<Vec<_>>(),
        [3, 5, 6]
    );
    let svc_b_orders = store
        .query_usage(Some("orders"), Some("svc-b"), None)
        .await
        .unwrap();
    assert_eq!(svc_b_orders.len(), 2);
    let since = Utc.with_ymd_and_hms(2026, 11, 22, 10, 2, 0).unwrap();
    let recent = store.query_usage(None, None, Some(since)).await.unwrap();
    assert_eq!(recent.iter().map(|r| r.count).collect::<Vec<_>>(), [5, 6]);

    let big: Vec<_> = (0..5000).map(|i| row(10, "bulk", "orders", i)).collect();
    store.insert_usage_batch(&big).await.unwrap();
    assert_eq!(
        store
            .query_usage(None, Some("bulk"), None)
            .await
            .unwrap()
            .len(),
        5000
    );
}
