//! Several instances sharing one database and one set of secrets: ciphertext moves freely
//! between them, and revocations reach all of them. SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{
    create_identity, encrypt_status, eventually, on_every_backend, relax_rate_limits,
};
use crate::support::{error_code, Deployment};

on_every_backend!(
    ciphertext_from_one_instance_decrypts_on_another,
    identity_revocation_reaches_every_instance,
    token_revocation_reaches_every_instance,
    a_transit_key_made_on_one_instance_serves_on_the_other_at_once,
);

async fn ciphertext_from_one_instance_decrypts_on_another(deployment: Deployment) {
    let a = deployment.spawn().await;
    let admin = a.admin_token().await;
    relax_rate_limits(&a, &admin).await;
    let b = deployment.spawn().await;
    // Created on A after B started: B must find it at once on a cache miss.
    a.create_context(&admin, "shared", "aes-256-gcm").await;

    let from_a = a.encrypt(&admin, "shared", b"written by A").await;
    assert_eq!(b.decrypt(&admin, "shared", &from_a).await, b"written by A");
    let from_b = b.encrypt(&admin, "shared", b"written by B").await;
    assert_eq!(a.decrypt(&admin, "shared", &from_b).await, b"written by B");

    // A token issued through one instance's API works on the other.
    let (_, service) = create_identity(&b, &admin, "service", &["shared"]).await;
    assert_eq!(
        a.decrypt(&service, "shared", &from_b).await,
        b"written by B"
    );

    // A different deployment (other secrets) cannot read it.
    let stranger = crate::support::Deployment::sqlite().spawn().await;
    let stranger_admin = stranger.admin_token().await;
    stranger
        .create_context(&stranger_admin, "shared", "aes-256-gcm")
        .await;
    let response = stranger
        .decrypt_response(&stranger_admin, "shared", &from_a)
        .await;
    assert_eq!(
        error_code(response).await,
        (400, "decryption_failed".into())
    );
}

async fn identity_revocation_reaches_every_instance(deployment: Deployment) {
    let a = deployment.spawn().await;
    let admin = a.admin_token().await;
    relax_rate_limits(&a, &admin).await;
    let b = deployment.spawn().await;
    a.create_context(&admin, "shared", "aes-256-gcm").await;
    let (id, token) = create_identity(&a, &admin, "service", &["shared"]).await;
    // Both instances have verified (and cached) the token.
    assert_eq!(encrypt_status(&a, &token, "shared").await, 200);
    assert_eq!(encrypt_status(&b, &token, "shared").await, 200);

    let response = a
        .delete(&format!("/api/admin/identities/{id}"), &admin)
        .await;
    assert_eq!(response.status(), 200);

    let response = a
        .post(
            "/api/v1/crypto/encrypt",
            &token,
            &json!({ "context": "shared", "plaintext": "aGk=" }),
        )
        .await;
    assert_eq!(error_code(response).await, (401, "unauthorized".into()));
    let refused = eventually(Duration::from_secs(5), || async {
        encrypt_status(&b, &token, "shared").await == 401
    })
    .await;
    assert!(
        refused,
        "instance B still accepts a revoked identity after 5 s"
    );
    // The admin is unaffected.
    assert_eq!(encrypt_status(&b, &admin, "shared").await, 200);
}

async fn token_revocation_reaches_every_instance(deployment: Deployment) {
    let a = deployment.spawn().await;
    let admin = a.admin_token().await;
    relax_rate_limits(&a, &admin).await;
    let b = deployment.spawn().await;
    a.create_context(&admin, "shared", "aes-256-gcm").await;
    let (_, token) = create_identity(&a, &admin, "service", &["shared"]).await;
    assert_eq!(encrypt_status(&a, &token, "shared").await, 200);
    assert_eq!(encrypt_status(&b, &token, "shared").await, 200);

    let response = a
        .post(
            "/api/admin/tokens/revoke",
            &admin,
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(response.status(), 200);

    let on_a = encrypt_status(&a, &token, "shared").await;
    let refused = eventually(Duration::from_secs(5), || async {
        encrypt_status(&b, &token, "shared").await == 401
    })
    .await;
    assert_eq!(
        on_a, 401,
        "revoked token still accepted on the instance that revoked it"
    );
    assert!(
        refused,
        "instance B still accepts a revoked token after 5 s"
    );
}

async fn a_transit_key_made_on_one_instance_serves_on_the_other_at_once(deployment: Deployment) {
    let a = deployment.spawn().await;
    let admin = a.admin_token().await;
    relax_rate_limits(&a, &admin).await;
    let b = deployment.spawn().await;
    let transit = |app: &crate::support::TestApp, path: &str, body: serde_json::Value| {
        let request = app
            .client
            .post(format!("{}/v1/transit/{path}", app.address))
            .header("X-Vault-Token", &admin)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // Created on A (by upsert) after B started: B serves it without waiting for a refresh.
    let plaintext = crate::support::b64(b"made on A");
    let (status, _) = transit(&a, "encrypt/tenants", json!({ "plaintext": plaintext })).await;
    assert_eq!(status, 200);
    let (status, body) = transit(&b, "encrypt/tenants", json!({ "plaintext": plaintext })).await;
    assert_eq!(status, 200, "{body}");
    let from_b = body["data"]["ciphertext"].as_str().unwrap().to_owned();
    let (status, body) = transit(&a, "decrypt/tenants", json!({ "ciphertext": from_b })).await;
    assert_eq!(
        (status, &body["data"]["plaintext"]),
        (200, &json!(plaintext))
    );

    // Rotated on A: B decrypts v2 at once (it re-reads the key on a newer version).
    let (status, _) = transit(&a, "keys/tenants/rotate", json!({})).await;
    assert_eq!(status, 200);
    let (_, body) = transit(&a, "encrypt/tenants", json!({ "plaintext": plaintext })).await;
    let v2 = body["data"]["ciphertext"].as_str().unwrap().to_owned();
    assert!(v2.starts_with("vault:v2:"), "{v2}");
    let (status, body) = transit(&b, "decrypt/tenants", json!({ "ciphertext": v2 })).await;
    assert_eq!(status, 200, "{body}");

    // Deleted on A: B refuses it at once, though its cache still held the key (a deletable
    // key is re-read on every call), and encrypting there no longer works either.
    let (status, _) = transit(
        &a,
        "keys/tenants/config",
        json!({ "deletion_allowed": true }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = transit(&b, "decrypt/tenants", json!({ "ciphertext": v2 })).await;
    assert_eq!(status, 200, "B sees the deletable key before the deletion");
    let response = a
        .client
        .delete(format!("{}/v1/transit/keys/tenants", a.address))
        .header("X-Vault-Token", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, _) = transit(&b, "decrypt/tenants", json!({ "ciphertext": v2 })).await;
    assert_eq!(status, 400, "B decrypted a deleted key's ciphertext");
    let response = b
        .post(
            "/api/v1/crypto/encrypt",
            &admin,
            &json!({ "context": "tenants", "plaintext": plaintext }),
        )
        .await;
    assert_eq!(response.status(), 404, "B encrypted under a deleted key");
}
