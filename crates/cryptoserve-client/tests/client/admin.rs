//! Admin, audit, usage and health calls against a real server.

use std::time::{Duration, Instant};

use cryptoserve_client::api::{
    Algorithm, AuditQuery, ConfigureContext, CreateContext, CreateIdentity, KeyStatus,
    OverrideScope, PolicyBody, RateLimitDimension, Role, UsageQuery,
};
use cryptoserve_client::Error;

use crate::support::Server;

#[tokio::test]
async fn context_lifecycle() {
    let server = Server::start().await;
    let client = server.client();
    let created = client
        .create_context(&CreateContext {
            algorithm: Some(Algorithm::ChaCha20Poly1305.to_string()),
            description: Some("cards".into()),
            ..CreateContext::new("cards")
        })
        .await
        .unwrap();
    assert_eq!(created.algorithm, Algorithm::ChaCha20Poly1305);
    assert_eq!(created.current_version, 1);

    let listed = client.list_contexts().await.unwrap();
    assert!(listed.iter().any(|c| c.name == "cards"));

    assert_eq!(
        client
            .rotate_context("cards")
            .await
            .unwrap()
            .current_version,
        2
    );
    let raised = client.set_min_decryption_version("cards", 2).await.unwrap();
    assert_eq!(raised.min_decryption_version, 2);
    let detail = client.context("cards").await.unwrap();
    assert_eq!(detail.context.description, "cards");
    let statuses: Vec<KeyStatus> = detail.key_versions.iter().map(|v| v.status).collect();
    assert_eq!(statuses, [KeyStatus::Retired, KeyStatus::Active]);

    let refused = client.delete_context("cards").await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    let configured = client
        .configure_context(
            "cards",
            &ConfigureContext {
                deletion_allowed: Some(true),
                auto_rotate_period_secs: Some(86_400),
                ..ConfigureContext::default()
            },
        )
        .await
        .unwrap();
    assert!(configured.deletion_allowed);
    assert_eq!(configured.auto_rotate_period_secs, 86_400);
    client.delete_context("cards").await.unwrap();
    let gone = client.context("cards").await;
    assert!(matches!(gone, Err(Error::UnknownContext(_))), "{gone:?}");
}

#[tokio::test]
async fn identities_tokens_rate_limits_audit_usage_and_health() {
    let server = Server::start().await;
    let client = server.client();
    client
        .create_context(&CreateContext::new("orders"))
        .await
        .unwrap();

    let created = client
        .create_identity(&CreateIdentity {
            contexts: Some(vec!["orders".into()]),
            ..CreateIdentity::new("billing", Role::Service)
        })
        .await
        .unwrap();
    assert!(!format!("{created:?}").contains(&created.token));
    let id = created.identity.id.clone();
    assert_eq!(client.identity(&id).await.unwrap().role, Role::Service);
    assert!(client
        .list_identities()
        .await
        .unwrap()
        .iter()
        .any(|i| i.id == id));

    let service = server
        .builder()
        .token(created.token.clone())
        .build()
        .unwrap();
    service.encrypt("orders", b"x").await.unwrap();
    let revoked = client.revoke_token(&created.token).await.unwrap();
    assert_eq!(revoked.revoked.identity_id, id);
    let refused = service.encrypt("orders", b"x").await;
    assert!(
        matches!(refused, Err(Error::Unauthorized(_))),
        "{refused:?}"
    );
    let identity = client.revoke_identity(&id).await.unwrap();
    assert!(identity.revoked_at.is_some());

    // Rate limits: an override, shown, listed, removed; a default; a bucket reset.
    let policy = PolicyBody::new(1200, 30);
    let stored = client
        .set_rate_limit_override(OverrideScope::Context, "orders", policy)
        .await
        .unwrap();
    assert_eq!(stored.burst_size, 30);
    let shown = client
        .rate_limit(OverrideScope::Context, "orders")
        .await
        .unwrap();
    assert!(shown.is_override);
    assert_eq!(shown.policy, policy);
    let list = client.rate_limits().await.unwrap();
    assert_eq!(list.contexts["orders"], policy);
    assert_eq!(list.defaults["ip"].burst_size, 10_000);
    client
        .delete_rate_limit_override(OverrideScope::Context, "orders")
        .await
        .unwrap();
    let missing = client
        .delete_rate_limit_override(OverrideScope::Context, "orders")
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    let default = client
        .set_rate_limit_default(RateLimitDimension::Context, PolicyBody::new(60_000, 5_000))
        .await
        .unwrap();
    assert_eq!(default.key, "");
    client
        .reset_rate_limit(RateLimitDimension::Identity, &id)
        .await
        .unwrap();

    // Audit: one page, everything, and the chain verifies.
    let page = client
        .audit_page(&AuditQuery {
            limit: Some(2),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    let all = client.audit_all(None).await.unwrap();
    assert!(all.iter().any(|row| row.action == "identity.revoke"));
    assert!(all.iter().any(|row| row.action == "token.revoke"));
    let verification = client.verify_audit().await.unwrap();
    assert!(verification.ok);
    assert_eq!(verification.rows_checked, all.len() as u64);

    // Usage is written in batches every 5 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    let query = UsageQuery {
        context: Some("orders".into()),
        ..UsageQuery::default()
    };
    loop {
        let rows = client.usage(&query).await.unwrap();
        if rows.iter().any(|row| row.operation == "encrypt") {
            break;
        }
        assert!(Instant::now() < deadline, "no usage rows: {rows:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Health.
    assert_eq!(client.live().await.unwrap().status, "alive");
    assert_eq!(client.ready().await.unwrap().status, "ready");
    let deep = client.deep().await.unwrap();
    assert_eq!(deep.database.backend, "sqlite");
    let readiness = client.readiness().await;
    assert_eq!(readiness.len(), 1);
    assert_eq!(readiness[0].result.as_ref().unwrap().status, "ready");
}
