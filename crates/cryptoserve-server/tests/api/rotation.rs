//! Key rotation: old ciphertext keeps decrypting, new ciphertext uses the new version, rewrap
//! moves data forward, the minimum decryption version retires old data — on one instance and
//! across instances. SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{eventually, on_every_backend, relax_rate_limits};
use crate::support::{b64, error_code, unb64, Deployment};

on_every_backend!(
    rotation_keeps_old_ciphertext_until_min_version_retires_it,
    rotation_on_one_instance_is_seen_by_another,
);

async fn rotation_keeps_old_ciphertext_until_min_version_retires_it(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "orders", "aes-256-gcm").await;
    let v1 = app.encrypt(&admin, "orders", b"order 1").await;
    assert!(v1.starts_with("cs1:v1:"));

    let response = app
        .post("/api/admin/contexts/orders/rotate", &admin, &json!({}))
        .await;
    assert_eq!(response.status(), 200);

    assert_eq!(app.decrypt(&admin, "orders", &v1).await, b"order 1");
    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &admin,
            &json!({ "context": "orders", "plaintext": b64(b"order 2") }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["key_version"], 2);
    let v2 = body["ciphertext"].as_str().unwrap().to_owned();
    assert!(v2.starts_with("cs1:v2:"), "{v2}");

    let response = app
        .post(
            "/api/v1/crypto/rewrap",
            &admin,
            &json!({ "context": "orders", "ciphertext": v1 }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["key_version"], 2);
    let rewrapped = body["ciphertext"].as_str().unwrap().to_owned();
    assert!(rewrapped.starts_with("cs1:v2:"));
    assert_eq!(app.decrypt(&admin, "orders", &rewrapped).await, b"order 1");

    let response = app
        .put(
            "/api/admin/contexts/orders/min-decryption-version",
            &admin,
            &json!({ "version": 2 }),
        )
        .await;
    assert_eq!(response.status(), 200);

    let response = app.decrypt_response(&admin, "orders", &v1).await;
    assert_eq!(
        error_code(response).await,
        (400, "decryption_failed".into())
    );
    let response = app
        .post(
            "/api/v1/crypto/rewrap",
            &admin,
            &json!({ "context": "orders", "ciphertext": v1 }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (400, "decryption_failed".into())
    );
    let response = app
        .post(
            "/api/v1/crypto/batch/decrypt",
            &admin,
            &json!({ "context": "orders", "items": [{ "ciphertext": v1 }, { "ciphertext": v2 }] }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["results"][0]["error"]["code"], "decryption_failed");
    assert_eq!(
        unb64(body["results"][1]["plaintext"].as_str().unwrap()),
        b"order 2"
    );

    assert_eq!(app.decrypt(&admin, "orders", &v2).await, b"order 2");
    assert_eq!(app.decrypt(&admin, "orders", &rewrapped).await, b"order 1");
}

async fn rotation_on_one_instance_is_seen_by_another(deployment: Deployment) {
    let a = deployment.spawn().await;
    let admin = a.admin_token().await;
    relax_rate_limits(&a, &admin).await;
    let b = deployment.spawn().await;
    // `c` never polls during the test: only the decrypt path's own refresh can help it.
    let c = deployment
        .spawn_with(|s| s.cache_refresh_ms = 600_000)
        .await;
    a.create_context(&admin, "shared", "chacha20-poly1305")
        .await;

    // Both other instances cache version 1.
    let from_b = b.encrypt(&admin, "shared", b"b v1").await;
    let from_c = c.encrypt(&admin, "shared", b"c v1").await;
    assert!(from_b.starts_with("cs1:v1:") && from_c.starts_with("cs1:v1:"));

    let response = a
        .post("/api/admin/contexts/shared/rotate", &admin, &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let v2 = a.encrypt(&admin, "shared", b"a v2").await;
    assert!(v2.starts_with("cs1:v2:"));

    // Immediately: ciphertext under the new version decrypts on an instance that cached v1.
    assert_eq!(c.decrypt(&admin, "shared", &v2).await, b"a v2");
    // Within 5 s: the other instance encrypts under v2 without being told.
    let sees_v2 = eventually(Duration::from_secs(5), || async {
        let response = b
            .post(
                "/api/v1/crypto/encrypt",
                &admin,
                &json!({ "context": "shared", "plaintext": b64(b"b v2") }),
            )
            .await;
        let body: Value = response.json().await.unwrap();
        body["key_version"] == 2
    })
    .await;
    assert!(sees_v2, "instance B still encrypts under v1 after 5 s");
    assert_eq!(b.decrypt(&admin, "shared", &v2).await, b"a v2");
    assert_eq!(a.decrypt(&admin, "shared", &from_c).await, b"c v1");

    // The minimum decryption version reaches B too.
    let response = a
        .put(
            "/api/admin/contexts/shared/min-decryption-version",
            &admin,
            &json!({ "version": 2 }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let refuses_v1 = eventually(Duration::from_secs(5), || async {
        b.decrypt_response(&admin, "shared", &from_b).await.status() == 400
    })
    .await;
    assert!(
        refuses_v1,
        "instance B still decrypts v1 5 s after the minimum moved to 2"
    );
}
