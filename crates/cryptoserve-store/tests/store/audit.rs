//! The HMAC-chained audit log: verification, tamper detection, paging and concurrency.

use cryptoserve_store::{AuditKey, PoolSettings, Store, GENESIS_MAC};

use crate::helpers::{audit, on_every_backend, TestDb};

on_every_backend!(
    chain_verifies_and_detects_tampering,
    deleted_rows_break_the_chain_at_the_next_row,
    concurrent_writers_keep_one_chain,
    list_audit_pages_and_filters,
    a_chain_spanning_a_master_key_rotation_verifies_while_the_old_key_is_configured,
);

async fn write_events(db: &TestDb, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..count {
        let entry = audit("context.create", &format!("ctx{i}"))
            .with_details(serde_json::json!({ "algorithm": "aes-256-gcm", "n": i }));
        ids.push(db.store.record_audit(entry).await.unwrap().id);
    }
    ids
}

async fn chain_verifies_and_detects_tampering(db: &TestDb) {
    let empty = db.store.verify_audit_chain().await.unwrap();
    assert!(empty.ok && empty.rows_checked == 0 && empty.first_broken_id.is_none());

    let ids = write_events(db, 5).await;
    let rows = db.store.list_audit(None, None, 100).await.unwrap();
    assert_eq!(rows[0].prev_mac, GENESIS_MAC);
    assert_eq!(rows[1].prev_mac, rows[0].mac);
    assert_eq!(
        rows[0].details.as_deref(),
        Some(r#"{"algorithm":"aes-256-gcm","n":0}"#)
    );
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(verification.rows_checked, 5);
    assert!(verification.ok);

    let tampered = ids[2];
    let changed = db
        .execute_raw(&format!(
            "UPDATE admin_audit_log SET actor = 'mallory' WHERE id = {tampered}"
        ))
        .await;
    assert_eq!(changed, 1);
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert!(!verification.ok);
    assert_eq!(verification.first_broken_id, Some(tampered));
    // The walk goes on past the first finding.
    assert_eq!(verification.rows_checked, 5);

    // A store with a different key cannot vouch for the chain either.
    let other = Store::connect(&db.url, &PoolSettings::default(), AuditKey::new([8; 32]))
        .await
        .unwrap();
    assert_eq!(
        other.verify_audit_chain().await.unwrap().first_broken_id,
        Some(ids[0])
    );
}

async fn deleted_rows_break_the_chain_at_the_next_row(db: &TestDb) {
    let ids = write_events(db, 4).await;
    db.execute_raw(&format!(
        "DELETE FROM admin_audit_log WHERE id = {}",
        ids[1]
    ))
    .await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(verification.first_broken_id, Some(ids[2]));
}

async fn concurrent_writers_keep_one_chain(db: &TestDb) {
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = db.store.clone();
            tokio::spawn(async move {
                for write in 0..10 {
                    store
                        .record_audit(audit("test.concurrent", &format!("{task}-{write}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // A mutation racing the audit-only writers must join the same chain.
    let identity = db
        .store
        .create_identity(
            crate::identities::service("racer"),
            audit("identity.create", "racer"),
        )
        .await
        .unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.rows_checked, 81);
    assert_eq!(db.audit_count("test.concurrent", "success").await, 80);
    assert!(db.store.get_identity(&identity.id).await.unwrap().is_some());
}

async fn list_audit_pages_and_filters(db: &TestDb) {
    let ids = write_events(db, 6).await;
    let first = db.store.list_audit(None, None, 4).await.unwrap();
    assert_eq!(first.iter().map(|r| r.id).collect::<Vec<_>>(), ids[..4]);
    let rest = db.store.list_audit(None, Some(ids[3]), 100).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), ids[4..]);
    let future = chrono::Utc::now() + chrono::TimeDelta::minutes(5);
    assert!(db
        .store
        .list_audit(Some(future), None, 100)
        .await
        .unwrap()
        .is_empty());
    let past = chrono::Utc::now() - chrono::TimeDelta::minutes(5);
    assert_eq!(
        db.store
            .list_audit(Some(past), None, 100)
            .await
            .unwrap()
            .len(),
        6
    );
}

/// After a master key rotation the server signs with the new key's audit key and verifies with
/// the previous ones too (`AuditKey::with_previous`), so one chain spans the rotation.
async fn a_chain_spanning_a_master_key_rotation_verifies_while_the_old_key_is_configured(
    db: &TestDb,
) {
    write_events(db, 3).await; // signed with the test key, [7; 32]
    let rotated = Store::connect(
        &db.url,
        &PoolSettings::default(),
        AuditKey::new([8; 32]).with_previous([[7; 32]]),
    )
    .await
    .unwrap();
    let after = rotated
        .record_audit(audit("context.rotate", "after-rotation"))
        .await
        .unwrap();
    let verification = rotated.verify_audit_chain().await.unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.rows_checked, 4);

    // Without the old key the old rows cannot be vouched for; with only the old key, the new
    // row cannot.
    let new_only = Store::connect(&db.url, &PoolSettings::default(), AuditKey::new([8; 32]))
        .await
        .unwrap();
    assert!(!new_only.verify_audit_chain().await.unwrap().ok);
    let old_only = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(old_only.first_broken_id, Some(after.id));
}
