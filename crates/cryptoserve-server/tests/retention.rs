//! The retention task inside a running server: with `CRYPTOSERVE_RETENTION_INTERVAL_SECS=1` it
//! purges expired revocations and usage rows past `CRYPTOSERVE_USAGE_RETENTION_DAYS`, leaves
//! everything else, and counts what it deleted in `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use cryptoserve_server::config::secrets;
use cryptoserve_server::startup::connect_store;
use cryptoserve_store::{AuditEntry, UsageRow};

use support::{metric, Deployment};

const PURGED: &str = "cryptoserve_retention_purged_rows_total";

fn usage(days_ago: i64) -> UsageRow {
    UsageRow {
        minute: Utc::now() - TimeDelta::days(days_ago),
        identity_id: "svc".to_owned(),
        context: "orders".to_owned(),
        operation: "encrypt".to_owned(),
        outcome: "success".to_owned(),
        count: 1,
        bytes: 16,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_task_purges_old_rows_and_counts_them() {
    let deployment = Deployment::sqlite();
    let app = deployment
        .spawn_with(|settings| {
            settings.retention_interval_secs = 1;
            settings.usage_retention_days = 30;
        })
        .await;
    let resolved = secrets::resolve(&app.settings).unwrap();
    let store = connect_store(&app.settings, &resolved).await.unwrap();

    // Five usage rows past 30 days, three within.
    let mut rows: Vec<UsageRow> = (0..5).map(|_| usage(31)).collect();
    rows.extend([usage(29), usage(1), usage(0)]);
    store.insert_usage_batch(&rows).await.unwrap();
    // Two revocations long expired; one expired a minute ago (inside the grace that outlasts
    // the verifier's clock leeway); one still live.
    let now = Utc::now();
    for (jti, expires_at) in [
        ("expired-hours-ago", now - TimeDelta::hours(3)),
        ("expired-20-minutes-ago", now - TimeDelta::minutes(20)),
        ("expired-a-minute-ago", now - TimeDelta::minutes(1)),
        ("live", now + TimeDelta::hours(1)),
    ] {
        let audit = AuditEntry::new("test", "token.revoke", jti);
        store
            .revoke_token(jti, "svc", expires_at, audit)
            .await
            .unwrap();
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    let (usage_purged, revoked_purged) = loop {
        let usage_purged = metric(&app, PURGED, "table=\"usage_counters\"").await;
        let revoked_purged = metric(&app, PURGED, "table=\"revoked_tokens\"").await;
        if (usage_purged, revoked_purged) == (5.0, 2.0) || Instant::now() > deadline {
            break (usage_purged, revoked_purged);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(usage_purged, 5.0, "usage rows purged");
    assert_eq!(revoked_purged, 2.0, "revoked-token rows purged");

    // A few more runs change nothing: the counts stay exact.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(metric(&app, PURGED, "table=\"usage_counters\"").await, 5.0);
    assert_eq!(metric(&app, PURGED, "table=\"revoked_tokens\"").await, 2.0);
    let left = store.query_usage(None, None, None).await.unwrap();
    assert_eq!(left.len(), 3, "{left:?}");
    // What is left of the revocations: the one inside the grace and the live one, which a
    // purge as of "in two hours" (injected clock) removes.
    let later = Utc::now() + TimeDelta::hours(2);
    assert_eq!(
        store
            .purge_expired_revoked_tokens(later, 100)
            .await
            .unwrap(),
        2
    );
    store.close().await.unwrap();
}
