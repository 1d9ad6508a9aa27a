//! Contexts: creation, duplicates, rotation and the minimum decryption version.

use cryptoserve_store::{
    Algorithm, ContextAttributes, ContextConfig, KeyStatus, NewContext, StoreError,
};

use crate::helpers::{audit, on_every_backend, TestDb};

on_every_backend!(
    create_get_and_list,
    duplicate_context_is_rejected_without_a_success_audit_row,
    rotation_and_min_decryption_version_drive_statuses,
    change_counter_moves_with_every_mutation,
    attributes_round_trip_and_configuration_keeps_the_version_window_sane,
    deletion_needs_permission_and_removes_every_row,
    scheduled_rotation_happens_once_however_many_callers,
);

fn new_context(name: &str) -> NewContext {
    NewContext {
        name: name.to_owned(),
        description: "orders table".to_owned(),
        algorithm: Algorithm::Aes256Gcm,
        master_key_id: "a1b2c3d4".to_owned(),
        attributes: Default::default(),
        generation_id: None,
    }
}

fn statuses(versions: &[cryptoserve_store::KeyVersionRecord]) -> Vec<(i32, KeyStatus)> {
    versions.iter().map(|v| (v.version, v.status)).collect()
}

async fn create_get_and_list(db: &TestDb) {
    let created = db
        .store
        .create_context(new_context("orders"), audit("context.create", "orders"))
        .await
        .unwrap();
    assert_eq!(created.current_version, 1);
    assert_eq!(created.min_decryption_version, 1);
    assert_eq!(created.algorithm, Algorithm::Aes256Gcm);

    let fetched = db.store.get_context("orders").await.unwrap().unwrap();
    assert_eq!(fetched, created);
    assert!(db.store.get_context("missing").await.unwrap().is_none());

    let mut other = new_context("billing");
    other.algorithm = Algorithm::ChaCha20Poly1305;
    db.store
        .create_context(other, audit("context.create", "billing"))
        .await
        .unwrap();
    let names: Vec<_> = db
        .store
        .list_contexts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["billing", "orders"]);

    let versions = db.store.list_key_versions("orders").await.unwrap();
    assert_eq!(statuses(&versions), [(1, KeyStatus::Active)]);
    assert_eq!(versions[0].master_key_id, "a1b2c3d4");

    let too_long = new_context(&"x".repeat(65));
    let error = db
        .store
        .create_context(too_long, audit("context.create", "x"))
        .await;
    assert!(
        matches!(error, Err(StoreError::InvalidInput(_))),
        "{error:?}"
    );
}

async fn duplicate_context_is_rejected_without_a_success_audit_row(db: &TestDb) {
    db.store
        .create_context(new_context("orders"), audit("context.create", "orders"))
        .await
        .unwrap();
    let counter = db.store.change_counter().await.unwrap();

    let error = db
        .store
        .create_context(new_context("orders"), audit("context.create", "orders"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::AlreadyExists { kind: "context", name } if name == "orders"),
        "{error:?}"
    );
    assert_eq!(db.audit_count("context.create", "success").await, 1);
    assert_eq!(db.store.change_counter().await.unwrap(), counter);
    assert_eq!(db.store.list_key_versions("orders").await.unwrap().len(), 1);

    // The server records the refusal separately.
    db.store
        .record_audit(audit("context.create", "orders").failed())
        .await
        .unwrap();
    assert_eq!(db.audit_count("context.create", "failure").await, 1);
    assert!(db.store.verify_audit_chain().await.unwrap().ok);
}

async fn rotation_and_min_decryption_version_drive_statuses(db: &TestDb) {
    db.store
        .create_context(new_context("orders"), audit("context.create", "orders"))
        .await
        .unwrap();
    let rotated = db
        .store
        .rotate_context("orders", "e5f6", audit("context.rotate", "orders"))
        .await
        .unwrap();
    assert_eq!(rotated.current_version, 2);
    let versions = db.store.list_key_versions("orders").await.unwrap();
    assert_eq!(
        statuses(&versions),
        [(1, KeyStatus::DecryptOnly), (2, KeyStatus::Active)]
    );
    assert_eq!(versions[1].master_key_id, "e5f6");

    db.store
        .rotate_context("orders", "e5f6", audit("context.rotate", "orders"))
        .await
        .unwrap();
    let raised = db
        .store
        .set_min_decryption_version("orders", 2, audit("context.min_version", "orders"))
        .await
        .unwrap();
    assert_eq!(
        (raised.current_version, raised.min_decryption_version),
        (3, 2)
    );
    let versions = db.store.list_key_versions("orders").await.unwrap();
    assert_eq!(
        statuses(&versions),
        [
            (1, KeyStatus::Retired),
            (2, KeyStatus::DecryptOnly),
            (3, KeyStatus::Active)
        ]
    );

    for bad in [0, 4] {
        let error = db
            .store
            .set_min_decryption_version("orders", bad, audit("context.min_version", "orders"))
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{bad}: {error:?}");
    }
    assert_eq!(db.audit_count("context.min_version", "success").await, 1);

    // Rotating keeps retired versions retired and demotes the old current version.
    db.store
        .rotate_context("orders", "e5f6", audit("context.rotate", "orders"))
        .await
        .unwrap();
    let versions = db.store.list_key_versions("orders").await.unwrap();
    assert_eq!(
        statuses(&versions),
        [
            (1, KeyStatus::Retired),
            (2, KeyStatus::DecryptOnly),
            (3, KeyStatus::DecryptOnly),
            (4, KeyStatus::Active)
        ]
    );

    let missing = db
        .store
        .rotate_context("missing", "e5f6", audit("context.rotate", "missing"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            StoreError::NotFound {
                kind: "context",
                ..
            }
        ),
        "{missing:?}"
    );
}

async fn change_counter_moves_with_every_mutation(db: &TestDb) {
    let store = &db.store;
    let mut last = store.change_counter().await.unwrap();
    let mut assert_bumped = |now: i64, what: &str| {
        assert!(
            now > last,
            "{what} did not bump the change counter ({last} -> {now})"
        );
        last = now;
    };
    store
        .create_context(new_context("orders"), audit("context.create", "orders"))
        .await
        .unwrap();
    assert_bumped(store.change_counter().await.unwrap(), "create_context");
    store
        .rotate_context("orders", "ff", audit("context.rotate", "orders"))
        .await
        .unwrap();
    assert_bumped(store.change_counter().await.unwrap(), "rotate_context");
    store
        .set_min_decryption_version("orders", 2, audit("context.min_version", "orders"))
        .await
        .unwrap();
    assert_bumped(
        store.change_counter().await.unwrap(),
        "set_min_decryption_version",
    );
    let identity = store
        .create_identity(
            crate::identities::service("svc"),
            audit("identity.create", "svc"),
        )
        .await
        .unwrap();
    assert_bumped(store.change_counter().await.unwrap(), "create_identity");
    let expiry = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    store
        .revoke_token(
            "jti-1",
            &identity.id,
            expiry,
            audit("token.revoke", "jti-1"),
        )
        .await
        .unwrap();
    assert_bumped(store.change_counter().await.unwrap(), "revoke_token");
    store
        .revoke_identity(&identity.id, audit("identity.revoke", &identity.id))
        .await
        .unwrap();
    assert_bumped(store.change_counter().await.unwrap(), "revoke_identity");
    use cryptoserve_store::{RateLimitDimension::Ip, RateLimitScope::Default};
    store
        .upsert_rate_limit_policy(
            Default,
            Ip,
            "",
            60,
            10,
            true,
            audit("ratelimit.upsert", "default"),
        )
        .await
        .unwrap();
    assert_bumped(
        store.change_counter().await.unwrap(),
        "upsert_rate_limit_policy",
    );
    store
        .delete_rate_limit_policy(Default, Ip, "", audit("ratelimit.delete", "default"))
        .await
        .unwrap();
    assert_bumped(
        store.change_counter().await.unwrap(),
        "delete_rate_limit_policy",
    );

    // Audit-only writes and reads do not make other instances reload.
    store
        .record_audit(audit("login.failed", "x").failed())
        .await
        .unwrap();
    store.list_contexts().await.unwrap();
    assert_eq!(store.change_counter().await.unwrap(), last);
}

async fn attributes_round_trip_and_configuration_keeps_the_version_window_sane(db: &TestDb) {
    let mut new = new_context("derived");
    new.attributes = ContextAttributes {
        derived: true,
        convergent: true,
        deletion_allowed: false,
        auto_rotate_period_secs: 0,
    };
    new.generation_id = Some("00112233445566778899aabbccddeeff".into());
    let created = db
        .store
        .create_context(new, audit("context.create", "derived"))
        .await
        .unwrap();
    assert!(created.derived && created.convergent);
    assert_eq!(created.min_encryption_version, 0);
    let fetched = db.store.get_context("derived").await.unwrap().unwrap();
    assert_eq!(fetched, created);
    assert_eq!(
        fetched.generation_id.as_deref(),
        Some("00112233445566778899aabbccddeeff")
    );

    let mut convergent_only = new_context("bad");
    convergent_only.attributes.convergent = true;
    let refused = db
        .store
        .create_context(convergent_only, audit("context.create", "bad"))
        .await;
    assert!(
        matches!(refused, Err(StoreError::InvalidInput(_))),
        "{refused:?}"
    );

    for _ in 0..2 {
        db.store
            .rotate_context("derived", "ff", audit("context.rotate", "derived"))
            .await
            .unwrap();
    }
    let configured = db
        .store
        .configure_context(
            "derived",
            ContextConfig {
                min_decryption_version: Some(2),
                min_encryption_version: Some(3),
                deletion_allowed: Some(true),
                auto_rotate_period_secs: Some(86_400),
            },
            audit("context.configure", "derived"),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            configured.min_decryption_version,
            configured.min_encryption_version
        ),
        (2, 3)
    );
    assert!(configured.deletion_allowed);
    assert_eq!(configured.auto_rotate_period_secs, 86_400);
    assert!(configured.derived, "fixed attributes stay");

    let impossible = [
        (Some(4), None, None),    // min decryption above latest
        (None, Some(9), None),    // min encryption above latest
        (Some(3), Some(2), None), // min encryption below min decryption
        (Some(0), None, None),
        (None, None, Some(60)), // auto-rotation more often than hourly
    ];
    for (min_dec, min_enc, period) in impossible {
        let error = db
            .store
            .configure_context(
                "derived",
                ContextConfig {
                    min_decryption_version: min_dec,
                    min_encryption_version: min_enc,
                    auto_rotate_period_secs: period,
                    ..ContextConfig::default()
                },
                audit("context.configure", "derived"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::Conflict(_) | StoreError::InvalidInput(_)),
            "{min_dec:?} {min_enc:?} {period:?}: {error:?}"
        );
    }
    assert_eq!(db.audit_count("context.configure", "success").await, 1);
}

async fn deletion_needs_permission_and_removes_every_row(db: &TestDb) {
    db.store
        .create_context(new_context("doomed"), audit("context.create", "doomed"))
        .await
        .unwrap();
    let refused = db
        .store
        .delete_context("doomed", audit("context.delete", "doomed"))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
    assert!(db.store.get_context("doomed").await.unwrap().is_some());

    db.store
        .configure_context(
            "doomed",
            ContextConfig {
                deletion_allowed: Some(true),
                ..ContextConfig::default()
            },
            audit("context.configure", "doomed"),
        )
        .await
        .unwrap();
    let counter = db.store.change_counter().await.unwrap();
    db.store
        .delete_context("doomed", audit("context.delete", "doomed"))
        .await
        .unwrap();
    assert!(db.store.get_context("doomed").await.unwrap().is_none());
    assert!(db
        .store
        .list_key_versions("doomed")
        .await
        .unwrap()
        .is_empty());
    assert!(db.store.change_counter().await.unwrap() > counter);
    assert_eq!(db.audit_count("context.delete", "success").await, 1);
    let missing = db
        .store
        .delete_context("doomed", audit("context.delete", "doomed"))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound { .. }),
        "{missing:?}"
    );

    // The name can be used again, starting from version 1.
    let again = db
        .store
        .create_context(new_context("doomed"), audit("context.create", "doomed"))
        .await
        .unwrap();
    assert_eq!(again.current_version, 1);
    assert!(db.store.verify_audit_chain().await.unwrap().ok);
}

async fn scheduled_rotation_happens_once_however_many_callers(db: &TestDb) {
    let mut new = new_context("rolling");
    new.attributes.auto_rotate_period_secs = 3600;
    db.store
        .create_context(new, audit("context.create", "rolling"))
        .await
        .unwrap();
    db.store
        .create_context(new_context("still"), audit("context.create", "still"))
        .await
        .unwrap();
    assert_eq!(
        db.store.auto_rotating_contexts().await.unwrap(),
        ["rolling"]
    );

    let now = chrono::Utc::now();
    let early = db
        .store
        .rotate_context_if_due(
            "rolling",
            "ff",
            now,
            audit("context.auto_rotate", "rolling"),
        )
        .await
        .unwrap();
    assert!(early.is_none(), "not due for an hour");

    // Three callers notice the deadline together: exactly one rotates.
    let later = now + chrono::TimeDelta::hours(2);
    let calls = (0..3).map(|_| {
        db.store.rotate_context_if_due(
            "rolling",
            "ff",
            later,
            audit("context.auto_rotate", "rolling"),
        )
    });
    let results = futures::future::join_all(calls).await;
    let rotated = results
        .into_iter()
        .map(Result::unwrap)
        .filter(Option::is_some)
        .count();
    assert_eq!(rotated, 1);
    let record = db.store.get_context("rolling").await.unwrap().unwrap();
    assert_eq!(record.current_version, 2);
    assert_eq!(db.audit_count("context.auto_rotate", "success").await, 1);
    assert!(db
        .store
        .rotate_context_if_due("still", "ff", later, audit("context.auto_rotate", "still"))
        .await
        .unwrap()
        .is_none());
}
