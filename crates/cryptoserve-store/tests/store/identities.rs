//! Identities, revocation and the revoked lists the server caches.

use chrono::{TimeDelta, Utc};
use cryptoserve_store::{NewIdentity, Role, StoreError, ALL_CONTEXTS};

use crate::helpers::{audit, on_every_backend, TestDb};

on_every_backend!(
    create_and_revoke_identities,
    revoked_tokens_expire_from_the_list
);

pub fn service(name: &str) -> NewIdentity {
    NewIdentity {
        name: name.to_owned(),
        role: Role::Service,
        allowed_contexts: vec!["orders".to_owned(), "billing".to_owned()],
        expires_at: None,
    }
}

async fn create_and_revoke_identities(db: &TestDb) {
    let store = &db.store;
    let svc = store
        .create_identity(service("svc"), audit("identity.create", "svc"))
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&svc.id).is_ok(), "{}", svc.id);
    assert_eq!(svc.allowed_contexts, ["orders", "billing"]);
    assert_eq!(svc.revoked_at, None);

    let expires = Utc::now() + TimeDelta::days(30);
    let admin = store
        .create_identity(
            NewIdentity {
                name: "ops".to_owned(),
                role: Role::Admin,
                allowed_contexts: vec![ALL_CONTEXTS.to_owned()],
                expires_at: Some(expires),
            },
            audit("identity.create", "ops"),
        )
        .await
        .unwrap();
    assert_ne!(admin.id, svc.id);
    let fetched = store.get_identity(&admin.id).await.unwrap().unwrap();
    assert_eq!(fetched.role, Role::Admin);
    assert_eq!(fetched.allowed_contexts, ["*"]);
    assert_eq!(
        fetched.expires_at.map(|t| t.timestamp()),
        Some(expires.timestamp())
    );
    assert_eq!(store.list_identities().await.unwrap().len(), 2);
    assert!(store.revoked_identity_ids().await.unwrap().is_empty());

    let revoked = store
        .revoke_identity(&svc.id, audit("identity.revoke", &svc.id))
        .await
        .unwrap();
    let revoked_at = revoked.revoked_at.expect("revoked_at set");
    assert_eq!(
        store.revoked_identity_ids().await.unwrap(),
        std::slice::from_ref(&svc.id)
    );
    // A second revocation keeps the original time.
    let again = store
        .revoke_identity(&svc.id, audit("identity.revoke", &svc.id))
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(revoked_at));

    let missing = store
        .revoke_identity(
            "00000000-0000-4000-8000-000000000000",
            audit("identity.revoke", "none"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            StoreError::NotFound {
                kind: "identity",
                ..
            }
        ),
        "{missing:?}"
    );
    assert_eq!(db.audit_count("identity.revoke", "success").await, 2);
    assert!(store.get_identity("nope").await.unwrap().is_none());
}

async fn revoked_tokens_expire_from_the_list(db: &TestDb) {
    let store = &db.store;
    let svc = store
        .create_identity(service("svc"), audit("identity.create", "svc"))
        .await
        .unwrap();
    let later = Utc::now() + TimeDelta::hours(1);
    let earlier = Utc::now() - TimeDelta::hours(1);
    store
        .revoke_token("live", &svc.id, later, audit("token.revoke", "live"))
        .await
        .unwrap();
    store
        .revoke_token("stale", &svc.id, earlier, audit("token.revoke", "stale"))
        .await
        .unwrap();
    store
        .revoke_token("live", &svc.id, later, audit("token.revoke", "live"))
        .await
        .unwrap();
    assert_eq!(store.revoked_token_ids().await.unwrap(), ["live"]);
    assert_eq!(db.audit_count("token.revoke", "success").await, 3);
}
