//! Round trips through every crypto endpoint, on SQLite and on PostgreSQL.

use serde_json::{json, Value};

use crate::helpers::{on_every_backend, relax_rate_limits};
use crate::support::{b64, error_code, unb64, Deployment};

on_every_backend!(
    encrypt_decrypt_round_trip,
    batch_round_trip_with_per_item_errors,
    batch_item_count_limit,
    rewrap_round_trip,
    datakey_round_trip,
);

async fn encrypt_decrypt_round_trip(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "payments", "aes-256-gcm").await;
    app.create_context(&admin, "notes", "chacha20-poly1305")
        .await;

    for (context, algorithm) in [("payments", "aes-256-gcm"), ("notes", "chacha20-poly1305")] {
        let response = app
            .post(
                "/api/v1/crypto/encrypt",
                &admin,
                &json!({
                    "context": context,
                    "plaintext": b64(b"card 4111"),
                    "associated_data": b64(b"row 7"),
                }),
            )
            .await;
        assert_eq!(response.status(), 200, "encrypt in {context}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["key_version"], 1);
        assert_eq!(body["algorithm"], algorithm);
        let ciphertext = body["ciphertext"].as_str().unwrap();
        assert!(ciphertext.starts_with("cs1:v1:"), "{ciphertext}");

        let response = app
            .post(
                "/api/v1/crypto/decrypt",
                &admin,
                &json!({
                    "context": context,
                    "ciphertext": ciphertext,
                    "associated_data": b64(b"row 7"),
                }),
            )
            .await;
        assert_eq!(response.status(), 200, "decrypt in {context}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(unb64(body["plaintext"].as_str().unwrap()), b"card 4111");
    }

    // Empty and binary plaintexts survive; the same plaintext never gives the same ciphertext.
    let empty = app.encrypt(&admin, "payments", b"").await;
    assert_eq!(app.decrypt(&admin, "payments", &empty).await, b"");
    let binary: Vec<u8> = (0..=255).collect();
    let first = app.encrypt(&admin, "payments", &binary).await;
    let second = app.encrypt(&admin, "payments", &binary).await;
    assert_ne!(first, second, "fresh nonce per message");
    assert_eq!(app.decrypt(&admin, "payments", &first).await, binary);
    assert_eq!(app.decrypt(&admin, "payments", &second).await, binary);
}

async fn batch_round_trip_with_per_item_errors(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "batch", "aes-256-gcm").await;

    let response = app
        .post(
            "/api/v1/crypto/batch/encrypt",
            &admin,
            &json!({ "context": "batch", "items": [
                { "id": "a", "plaintext": b64(b"alpha") },
                { "plaintext": b64(b"beta"), "associated_data": b64(b"ad") },
                { "id": "bad", "plaintext": "***not base64***" },
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200, "a bad item does not fail the batch");
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["id"], "a");
    assert_eq!(results[0]["key_version"], 1);
    assert_eq!(results[1]["id"], "1", "id defaults to the index");
    assert_eq!(results[2]["id"], "bad");
    assert_eq!(results[2]["error"]["code"], "invalid_base64");
    assert!(results[2].get("ciphertext").is_none());
    let alpha = results[0]["ciphertext"].as_str().unwrap().to_owned();
    let beta = results[1]["ciphertext"].as_str().unwrap().to_owned();
    assert!(alpha.starts_with("cs1:v1:") && beta.starts_with("cs1:v1:"));
    assert!(results[0].get("error").is_none() && results[1].get("error").is_none());

    let response = app
        .post(
            "/api/v1/crypto/batch/decrypt",
            &admin,
            &json!({ "context": "batch", "items": [
                { "id": "a", "ciphertext": alpha },
                { "id": "b", "ciphertext": beta, "associated_data": b64(b"ad") },
                { "id": "b-without-ad", "ciphertext": beta },
                { "id": "junk", "ciphertext": "cs1:v1:AAAA" },
                { "id": "bad-ad", "ciphertext": beta, "associated_data": "%%%" },
            ]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(unb64(results[0]["plaintext"].as_str().unwrap()), b"alpha");
    assert_eq!(unb64(results[1]["plaintext"].as_str().unwrap()), b"beta");
    assert_eq!(results[2]["id"], "b-without-ad");
    assert_eq!(results[2]["error"]["code"], "decryption_failed");
    assert_eq!(results[3]["error"]["code"], "decryption_failed");
    assert_eq!(
        results[2]["error"]["message"], results[3]["error"]["message"],
        "decryption failures are uniform"
    );
    assert_eq!(results[4]["error"]["code"], "invalid_base64");
    assert!(results[2].get("plaintext").is_none());

    // Batch ciphertexts are ordinary ciphertexts.
    assert_eq!(app.decrypt(&admin, "batch", &alpha).await, b"alpha");
}

async fn batch_item_count_limit(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    relax_rate_limits(&app, &admin).await;
    app.create_context(&admin, "bulk", "aes-256-gcm").await;
    let ciphertext = app.encrypt(&admin, "bulk", b"x").await;

    let encrypt_items = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({ "plaintext": b64(i.to_string().as_bytes()) }))
            .collect()
    };
    let decrypt_items = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|_| json!({ "ciphertext": ciphertext }))
            .collect()
    };

    for (path, items_at_limit, items_over_limit) in [
        (
            "/api/v1/crypto/batch/encrypt",
            encrypt_items(100),
            encrypt_items(101),
        ),
        (
            "/api/v1/crypto/batch/decrypt",
            decrypt_items(100),
            decrypt_items(101),
        ),
    ] {
        let response = app
            .post(
                path,
                &admin,
                &json!({ "context": "bulk", "items": items_at_limit }),
            )
            .await;
        assert_eq!(
            response.status(),
            200,
            "{path}: 100 items is the default limit"
        );
        let body: Value = response.json().await.unwrap();
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 100);
        assert!(results.iter().all(|r| r.get("error").is_none()));

        let response = app
            .post(
                path,
                &admin,
                &json!({ "context": "bulk", "items": items_over_limit }),
            )
            .await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_request".into()),
            "{path}"
        );
        let response = app
            .post(path, &admin, &json!({ "context": "bulk", "items": [] }))
            .await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_request".into()),
            "{path}"
        );
    }

    // The limit is configurable.
    let small = deployment.spawn_with(|s| s.max_batch_items = 2).await;
    let response = small
        .post(
            "/api/v1/crypto/batch/encrypt",
            &admin,
            &json!({ "context": "bulk", "items": encrypt_items(3) }),
        )
        .await;
    assert_eq!(error_code(response).await, (400, "invalid_request".into()));
}

async fn rewrap_round_trip(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "wrap", "chacha20-poly1305")
        .await;
    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &admin,
            &json!({ "context": "wrap", "plaintext": b64(b"data"), "associated_data": b64(b"ad") }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let original = body["ciphertext"].as_str().unwrap().to_owned();

    let response = app
        .post(
            "/api/v1/crypto/rewrap",
            &admin,
            &json!({ "context": "wrap", "ciphertext": original, "associated_data": b64(b"ad") }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["key_version"], 1);
    let rewrapped = body["ciphertext"].as_str().unwrap().to_owned();
    assert!(rewrapped.starts_with("cs1:v1:"));
    assert_ne!(rewrapped, original);
    assert!(
        body.get("plaintext").is_none(),
        "rewrap never returns plaintext"
    );

    // The associated data carries over to the new ciphertext.
    let response = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({ "context": "wrap", "ciphertext": rewrapped, "associated_data": b64(b"ad") }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(unb64(body["plaintext"].as_str().unwrap()), b"data");
    let response = app.decrypt_response(&admin, "wrap", &rewrapped).await;
    assert_eq!(
        error_code(response).await,
        (400, "decryption_failed".into())
    );

    // Rewrapping without the associated data fails like a decryption would.
    let response = app
        .post(
            "/api/v1/crypto/rewrap",
            &admin,
            &json!({ "context": "wrap", "ciphertext": original }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (400, "decryption_failed".into())
    );
}

async fn datakey_round_trip(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    relax_rate_limits(&app, &admin).await;
    app.create_context(&admin, "keys", "aes-256-gcm").await;

    for (bits, bytes) in [(128u32, 16usize), (256, 32)] {
        let response = app
            .post(
                "/api/v1/crypto/datakey",
                &admin,
                &json!({ "context": "keys", "bits": bits, "include_plaintext": true }),
            )
            .await;
        assert_eq!(response.status(), 200, "datakey {bits}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["bits"], bits);
        assert_eq!(body["key_version"], 1);
        let key = unb64(body["plaintext_key"].as_str().unwrap());
        assert_eq!(key.len(), bytes);
        let wrapped = body["wrapped_key"].as_str().unwrap();
        assert!(wrapped.starts_with("cs1:v1:"));
        assert_eq!(
            app.decrypt(&admin, "keys", wrapped).await,
            key,
            "unwrap via decrypt"
        );

        let response = app
            .post(
                "/api/v1/crypto/datakey",
                &admin,
                &json!({ "context": "keys", "bits": bits, "include_plaintext": false }),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert!(body.get("plaintext_key").is_none(), "{body}");
        let unwrapped = app
            .decrypt(&admin, "keys", body["wrapped_key"].as_str().unwrap())
            .await;
        assert_eq!(unwrapped.len(), bytes);
        assert_ne!(unwrapped, key, "every data key is fresh");
    }

    // Defaults: 256 bits, plaintext included.
    let response = app
        .post(
            "/api/v1/crypto/datakey",
            &admin,
            &json!({ "context": "keys" }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(unb64(body["plaintext_key"].as_str().unwrap()).len(), 32);
}

/// `cryptoserve_http_requests_total` counts by route template, method and status: another
/// status on the same path and another path land on their own series, unknown paths all on
/// `unmatched`; the latency histogram counts by route and method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_metrics_count_by_route_method_and_status() {
    use crate::support::metric;
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "ledger", "aes-256-gcm").await;
    let ciphertext = app.encrypt(&admin, "ledger", b"one").await;
    app.encrypt(&admin, "ledger", b"two").await;
    assert_eq!(app.decrypt(&admin, "ledger", &ciphertext).await, b"one");
    let response = app
        .decrypt_response(&admin, "ledger", "not a ciphertext")
        .await;
    assert_eq!(response.status(), 400);
    for path in ["/nope-a", "/nope-b", "/nope-a"] {
        assert_eq!(app.get(path, Some(&admin)).await.status(), 404);
    }

    let requests = "cryptoserve_http_requests_total";
    for (labels, expected) in [
        (
            r#"method="POST",route="/api/v1/crypto/encrypt",status="200""#,
            2.0,
        ),
        (
            r#"method="POST",route="/api/v1/crypto/decrypt",status="200""#,
            1.0,
        ),
        (
            r#"method="POST",route="/api/v1/crypto/decrypt",status="400""#,
            1.0,
        ),
        (r#"method="GET",route="unmatched",status="404""#, 3.0),
    ] {
        assert_eq!(metric(&app, requests, labels).await, expected, "{labels}");
    }
    let latency = "cryptoserve_http_request_duration_seconds_count";
    let labels = r#"method="POST",route="/api/v1/crypto/decrypt""#;
    assert_eq!(metric(&app, latency, labels).await, 2.0, "{labels}");
}

/// `/metrics` counts each crypto operation by context, algorithm and outcome, the plaintext
/// bytes of successful ones, and each admitted request by the limiter that decided it. The
/// counters are resolved once per context and reused, so the second context and the failure
/// outcome must land on their own series, not on the first one resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_operations_by_context_and_outcome() {
    use crate::support::metric;
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "ledger", "aes-256-gcm").await;
    app.create_context(&admin, "diary", "chacha20-poly1305")
        .await;

    let ciphertext = app.encrypt(&admin, "ledger", b"12345").await;
    app.encrypt(&admin, "ledger", b"1234567").await;
    app.encrypt(&admin, "diary", b"abc").await;
    assert_eq!(app.decrypt(&admin, "ledger", &ciphertext).await, b"12345");
    // Tampered: one failed decrypt.
    let mut tampered = ciphertext.into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response = app.decrypt_response(&admin, "ledger", &tampered).await;
    assert_eq!(response.status(), 400);

    let ops = "cryptoserve_crypto_operations_total";
    for (labels, expected) in [
        (
            r#"algorithm="aes-256-gcm",context="ledger",operation="encrypt",outcome="success""#,
            2.0,
        ),
        (
            r#"algorithm="chacha20-poly1305",context="diary",operation="encrypt",outcome="success""#,
            1.0,
        ),
        (
            r#"context="ledger",operation="decrypt",outcome="success""#,
            1.0,
        ),
        (
            r#"context="ledger",operation="decrypt",outcome="failure""#,
            1.0,
        ),
        (r#"context="diary",operation="decrypt""#, 0.0),
    ] {
        assert_eq!(metric(&app, ops, labels).await, expected, "{labels}");
    }
    let bytes = "cryptoserve_payload_bytes_total";
    assert_eq!(
        metric(&app, bytes, r#"operation="encrypt""#).await,
        15.0,
        "5 + 7 + 3 plaintext bytes encrypted"
    );
    assert_eq!(metric(&app, bytes, r#"operation="decrypt""#).await, 5.0);
    assert_eq!(
        metric(
            &app,
            "cryptoserve_rate_limit_decisions_total",
            r#"result="allowed",source="local""#
        )
        .await,
        5.0,
        "every crypto request was admitted by the in-process limiter"
    );
}
