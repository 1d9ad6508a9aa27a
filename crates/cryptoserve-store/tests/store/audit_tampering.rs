//! Each kind of tampering with the audit chain, done with SQL behind the store's back, is
//! reported as its own kind: deleting the newest rows (truncation, seen only against a
//! checkpoint), deleting rows in the middle (a gap), editing a row (rewriting) and swapping
//! rows (reordering). Also: forged checkpoints, and committed rows reaching the observer.

use std::sync::{Arc, Mutex};

use cryptoserve_store::{
    AuditCheckpoint, AuditProblemKind, AuditVerification, CheckpointSource, Store,
};

use crate::helpers::{audit, on_every_backend, TestDb};

on_every_backend!(
    deleting_the_tail_is_truncation_against_a_checkpoint,
    deleting_a_middle_row_is_a_gap,
    editing_a_row_is_rewriting,
    swapping_rows_is_reordering,
    forged_checkpoints_are_not_authentic,
    committed_rows_reach_the_observer,
);

async fn write(db: &TestDb, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..count {
        let entry =
            audit("context.create", &format!("ctx{i}")).with_details(serde_json::json!({ "n": i }));
        ids.push(db.store.record_audit(entry).await.unwrap().id);
    }
    ids
}

async fn against(store: &Store, checkpoint: &AuditCheckpoint) -> AuditVerification {
    store
        .verify_audit_chain_against(vec![(CheckpointSource::Request, checkpoint.clone())])
        .await
        .unwrap()
}

fn kinds(verification: &AuditVerification) -> Vec<(AuditProblemKind, i64)> {
    verification
        .problems
        .iter()
        .map(|problem| (problem.kind, problem.row_id))
        .collect()
}

async fn deleting_the_tail_is_truncation_against_a_checkpoint(db: &TestDb) {
    let ids = write(db, 5).await;
    let checkpoint = db.store.audit_checkpoint().await.unwrap().unwrap();
    assert_eq!(checkpoint.sequence, ids[4]);
    let intact = against(&db.store, &checkpoint).await;
    assert!(intact.ok && intact.problems.is_empty(), "{intact:?}");
    assert_eq!(intact.last_id, Some(ids[4]));
    assert_eq!(
        intact.head_mac.as_deref(),
        Some(checkpoint.head_mac.as_str())
    );

    let deleted = db
        .execute_raw(&format!(
            "DELETE FROM admin_audit_log WHERE id >= {}",
            ids[3]
        ))
        .await;
    assert_eq!(deleted, 2);
    // The chain alone still verifies: that is what the checkpoint is for.
    let alone = db.store.verify_audit_chain().await.unwrap();
    assert!(alone.ok, "{alone:?}");
    let verification = against(&db.store, &checkpoint).await;
    assert!(!verification.ok);
    assert_eq!(
        kinds(&verification),
        [(AuditProblemKind::Truncated, ids[4])]
    );
    assert_eq!(verification.first_broken_id, Some(ids[4]));
    assert!(verification.problems[0].detail.contains("deleted"));

    // New rows chain onto the shortened head, so the chain verifies again, but the row the
    // checkpoint named is gone (or, where ids are reused, holds another MAC).
    write(db, 3).await;
    assert!(db.store.verify_audit_chain().await.unwrap().ok);
    let verification = against(&db.store, &checkpoint).await;
    assert!(!verification.ok);
    let found = kinds(&verification);
    assert_eq!(found.len(), 1, "{verification:?}");
    assert_eq!(found[0].1, ids[4]);
    assert!(matches!(
        found[0].0,
        AuditProblemKind::Truncated | AuditProblemKind::Rewritten
    ));
}

async fn deleting_a_middle_row_is_a_gap(db: &TestDb) {
    let ids = write(db, 6).await;
    let checkpoint = db.store.audit_checkpoint().await.unwrap().unwrap();
    db.execute_raw(&format!(
        "DELETE FROM admin_audit_log WHERE id IN ({}, {})",
        ids[2], ids[3]
    ))
    .await;
    let verification = against(&db.store, &checkpoint).await;
    assert!(!verification.ok);
    assert_eq!(kinds(&verification), [(AuditProblemKind::Gap, ids[4])]);
    assert_eq!(verification.rows_checked, 4);
    assert!(verification.problems[0]
        .detail
        .contains(&format!("between {} and {}", ids[1], ids[4])));

    // Deleting the first row is a gap at the new first row.
    db.execute_raw(&format!(
        "DELETE FROM admin_audit_log WHERE id = {}",
        ids[0]
    ))
    .await;
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert_eq!(
        kinds(&verification),
        [
            (AuditProblemKind::Gap, ids[1]),
            (AuditProblemKind::Gap, ids[4])
        ]
    );
}

async fn editing_a_row_is_rewriting(db: &TestDb) {
    let ids = write(db, 5).await;
    let checkpoint = db.store.audit_checkpoint().await.unwrap().unwrap();
    db.execute_raw(&format!(
        "UPDATE admin_audit_log SET target = 'elsewhere' WHERE id = {}",
        ids[1]
    ))
    .await;
    let verification = against(&db.store, &checkpoint).await;
    assert!(!verification.ok);
    // Only the edited row: its successor still links to the MAC it stores.
    assert_eq!(
        kinds(&verification),
        [(AuditProblemKind::Rewritten, ids[1])]
    );

    // Replacing the head's MAC too: the row no longer verifies, and no longer matches the
    // checkpoint.
    db.execute_raw(&format!(
        "UPDATE admin_audit_log SET mac = '{}' WHERE id = {}",
        "ab".repeat(32),
        ids[4]
    ))
    .await;
    let verification = against(&db.store, &checkpoint).await;
    assert_eq!(
        kinds(&verification),
        [
            (AuditProblemKind::Rewritten, ids[1]),
            (AuditProblemKind::Rewritten, ids[4]),
            (AuditProblemKind::Rewritten, ids[4])
        ]
    );
    assert!(verification.problems[2].detail.contains("checkpoint"));
}

async fn swapping_rows_is_reordering(db: &TestDb) {
    let ids = write(db, 5).await;
    let (a, b) = (ids[1], ids[2]);
    for sql in [
        format!("UPDATE admin_audit_log SET id = -1 WHERE id = {a}"),
        format!("UPDATE admin_audit_log SET id = {a} WHERE id = {b}"),
        format!("UPDATE admin_audit_log SET id = {b} WHERE id = -1"),
    ] {
        assert_eq!(db.execute_raw(&sql).await, 1);
    }
    let verification = db.store.verify_audit_chain().await.unwrap();
    assert!(!verification.ok);
    assert_eq!(
        kinds(&verification),
        [
            (AuditProblemKind::Reordered, a),
            (AuditProblemKind::Reordered, b)
        ]
    );
    assert!(verification.problems[0]
        .detail
        .contains(&format!("signed as row {b}")));
}

async fn forged_checkpoints_are_not_authentic(db: &TestDb) {
    write(db, 3).await;
    let genuine = db.store.audit_checkpoint().await.unwrap().unwrap();
    assert!(db.store.checkpoint_is_authentic(&genuine));
    let mut forged = genuine.clone();
    forged.sequence += 10;
    assert!(!db.store.checkpoint_is_authentic(&forged));
    let verification = db
        .store
        .verify_audit_chain_against(vec![(CheckpointSource::Redis, forged)])
        .await
        .unwrap();
    assert!(!verification.ok);
    assert!(
        verification.problems.is_empty(),
        "a forged checkpoint is not used"
    );
    assert!(!verification.checkpoints[0].authentic);
    // The JSON form (what Redis and the log hold) round-trips exactly.
    let json = serde_json::to_string(&genuine).unwrap();
    let parsed: AuditCheckpoint = serde_json::from_str(&json).unwrap();
    assert!(db.store.checkpoint_is_authentic(&parsed));
}

async fn committed_rows_reach_the_observer(db: &TestDb) {
    let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
    let sink = Arc::clone(&seen);
    db.store.observe_audit(Arc::new(move |records| {
        sink.lock()
            .unwrap()
            .extend(records.iter().map(|record| record.id));
    }));
    let ids = write(db, 2).await;
    db.store
        .create_identity(
            crate::identities::service("observed"),
            audit("identity.create", "observed"),
        )
        .await
        .unwrap();
    let rows = db.store.list_audit(None, None, 100).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        *seen.lock().unwrap(),
        rows.iter().map(|row| row.id).collect::<Vec<_>>()
    );
    assert_eq!(&seen.lock().unwrap()[..2], ids.as_slice());
}
