//! Contexts: creation, duplicates, rotation and the minimum decryption version.

use cryptoserve_store::{Algorithm, KeyStatus, NewContext, StoreError};

use crate::helpers::{audit, on_both_backends, TestDb};

on_both_backends!(
    create_get_and_list,
    duplicate_context_is_rejected_without_a_success_audit_row,
    rotation_and_min_decryption_version_drive_statuses,
    change_counter_moves_with_every_mutation,
);

fn new_context(name: &str) -> NewContext {
    NewContext {
        name: name.to_owned(),
        description: "orders table".to_owned(),
        algorithm: Algorithm::Aes256Gcm,
        master_key_id: "a1b2c3d4".to_owned(),
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
