//! Export and import: a snapshot written back into a fresh database holds every row as it
//! was (ids, MACs, timestamps), the audit chain verifies and new rows get fresh ids; a
//! non-empty target is refused unless merging, and a merge conflict writes nothing.

use chrono::{Duration, Utc};
use cryptoserve_store::{
    Algorithm, BackupTables, ContextAttributes, ImportMode, NewContext, NewIdentity,
    RateLimitDimension, RateLimitScope, Role, StoreError,
};

use crate::helpers::{audit, on_both_backends, TestDb};

on_both_backends!(
    an_import_into_a_fresh_database_restores_every_row_and_the_chain,
    a_non_empty_database_is_refused_and_left_as_it_was,
    a_merge_adds_nothing_twice_and_a_conflict_writes_nothing,
);

async fn fresh_like(db: &TestDb) -> TestDb {
    match db.store.backend() {
        "postgres" => TestDb::postgres().await,
        _ => TestDb::sqlite().await,
    }
}

fn context(name: &str, derived: bool) -> NewContext {
    NewContext {
        name: name.to_owned(),
        description: format!("{name} data"),
        algorithm: Algorithm::ChaCha20Poly1305,
        master_key_id: "0011223344556677".to_owned(),
        attributes: ContextAttributes {
            derived,
            convergent: derived,
            deletion_allowed: true,
            auto_rotate_period_secs: 7200,
        },
        generation_id: Some("cd".repeat(16)),
    }
}

async fn populate(db: &TestDb) {
    let store = &db.store;
    store
        .create_context(context("orders", false), audit("context.create", "orders"))
        .await
        .unwrap();
    store
        .create_context(context("users", true), audit("context.create", "users"))
        .await
        .unwrap();
    for _ in 0..2 {
        store
            .rotate_context(
                "orders",
                "8899aabbccddeeff",
                audit("context.rotate", "orders"),
            )
            .await
            .unwrap();
    }
    store
        .set_min_decryption_version("orders", 2, audit("context.min", "orders"))
        .await
        .unwrap();
    let identity = store
        .create_identity(
            NewIdentity {
                name: "billing".into(),
                role: Role::Service,
                allowed_contexts: vec!["orders".into()],
                expires_at: Some(Utc::now() + Duration::days(3)),
            },
            audit("identity.create", "billing"),
        )
        .await
        .unwrap();
    let expires = Utc::now() + Duration::hours(2);
    store
        .revoke_token(
            "jti-a",
            &identity.id,
            expires,
            audit("token.revoke", "jti-a"),
        )
        .await
        .unwrap();
    store
        .revoke_identity(&identity.id, audit("identity.revoke", &identity.id))
        .await
        .unwrap();
    store
        .upsert_rate_limit_policy(
            RateLimitScope::Context,
            RateLimitDimension::Identity,
            "orders",
            600,
            50,
            false,
            audit("ratelimit.upsert", "orders"),
        )
        .await
        .unwrap();
}

/// A JSON round trip, as through the backup file.
fn through_json(tables: &BackupTables) -> BackupTables {
    serde_json::from_str(&serde_json::to_string(tables).unwrap()).unwrap()
}

async fn an_import_into_a_fresh_database_restores_every_row_and_the_chain(db: &TestDb) {
    populate(db).await;
    let exported = db.store.export_tables().await.unwrap();
    let target = fresh_like(db).await;
    let summary = target
        .store
        .import_tables(
            &through_json(&exported),
            ImportMode::EmptyOnly,
            audit("backup.import", "file"),
        )
        .await
        .unwrap();
    assert_eq!(summary.inserted, exported.row_counts());
    assert_eq!(summary.already_present, 0);

    // Every row as it was, plus the one audit row recording the import, which extends the
    // chain from the imported head.
    let restored = target.store.export_tables().await.unwrap();
    let (head_id, head_mac) = exported.audit_head().unwrap();
    assert_eq!(summary.audit.id, head_id + 1);
    assert_eq!(summary.audit.prev_mac, head_mac);
    let mut counts = exported.row_counts();
    counts[5].1 += 1;
    assert_eq!(restored.row_counts(), counts);
    let chain = target.store.verify_audit_chain().await.unwrap();
    assert!(chain.ok, "{chain:?}");
    assert_eq!(chain.rows_checked, counts[5].1 as u64);
    assert_eq!(
        target.store.list_contexts().await.unwrap(),
        db.store.list_contexts().await.unwrap()
    );
    assert_eq!(
        target.store.list_key_versions("orders").await.unwrap(),
        db.store.list_key_versions("orders").await.unwrap()
    );
    assert_eq!(
        target.store.list_identities().await.unwrap(),
        db.store.list_identities().await.unwrap()
    );
    assert_eq!(
        target.store.revoked_token_ids().await.unwrap(),
        ["jti-a".to_owned()]
    );
    assert_eq!(
        target.store.list_rate_limit_policies().await.unwrap(),
        db.store.list_rate_limit_policies().await.unwrap()
    );

    // New rows get ids past the imported ones (PostgreSQL's sequences were moved).
    let created = target
        .store
        .create_context(context("later", false), audit("context.create", "later"))
        .await
        .unwrap();
    assert_eq!(created.name, "later");
    target
        .store
        .rotate_context(
            "later",
            "0011223344556677",
            audit("context.rotate", "later"),
        )
        .await
        .unwrap();
    assert!(target.store.verify_audit_chain().await.unwrap().ok);
}

async fn a_non_empty_database_is_refused_and_left_as_it_was(db: &TestDb) {
    populate(db).await;
    let exported = db.store.export_tables().await.unwrap();
    let target = fresh_like(db).await;
    target
        .store
        .create_context(context("mine", false), audit("context.create", "mine"))
        .await
        .unwrap();
    let before = target.store.export_tables().await.unwrap();
    let refused = target
        .store
        .import_tables(
            &exported,
            ImportMode::EmptyOnly,
            audit("backup.import", "f"),
        )
        .await;
    let Err(StoreError::NotEmpty(tables)) = refused else {
        panic!("a non-empty database accepted an import: {refused:?}");
    };
    assert!(tables.contains("contexts: 1 rows"), "{tables}");
    assert_eq!(target.store.export_tables().await.unwrap(), before);
}

async fn a_merge_adds_nothing_twice_and_a_conflict_writes_nothing(db: &TestDb) {
    populate(db).await;
    let exported = db.store.export_tables().await.unwrap();
    let target = fresh_like(db).await;
    target
        .store
        .import_tables(
            &exported,
            ImportMode::EmptyOnly,
            audit("backup.import", "f"),
        )
        .await
        .unwrap();
    // The same file again: every row is already there, identical.
    let again = target
        .store
        .import_tables(&exported, ImportMode::Merge, audit("backup.import", "f"))
        .await
        .unwrap();
    assert!(again.inserted.iter().all(|(_, rows)| *rows == 0));
    let total: usize = exported.row_counts().iter().map(|(_, rows)| rows).sum();
    assert_eq!(again.already_present, total);
    assert!(target.store.verify_audit_chain().await.unwrap().ok);

    // A database with other rows under the same ids: refused, nothing written.
    let other = fresh_like(db).await;
    other
        .store
        .create_context(context("orders", false), audit("context.create", "x"))
        .await
        .unwrap();
    let before = other.store.export_tables().await.unwrap();
    let conflict = other
        .store
        .import_tables(&exported, ImportMode::Merge, audit("backup.import", "f"))
        .await;
    assert!(
        matches!(
            conflict,
            Err(StoreError::BackupConflict {
                table: "contexts",
                ..
            })
        ),
        "{conflict:?}"
    );
    assert_eq!(other.store.export_tables().await.unwrap(), before);
}
