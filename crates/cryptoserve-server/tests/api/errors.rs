//! Bad input: each gets its stable code in the one error shape, and never a 5xx. Also the
//! request id every response carries.

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{post_raw, relax_rate_limits};
use crate::support::{b64, error_code, Deployment, TestApp};

const CANARY: &str = "CANARY-7f3a9c-do-not-echo";

async fn error_parts(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap().to_owned();
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    (status, code, message)
}

pub async fn app_with_context() -> (TestApp, String) {
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    relax_rate_limits(&app, &admin).await;
    app.create_context(&admin, "payments", "aes-256-gcm").await;
    (app, admin)
}

#[tokio::test]
async fn malformed_and_mistyped_json_is_invalid_json() {
    let (app, admin) = app_with_context().await;
    let json = Some("application/json");

    for body in [r#"{"context": "payments", "#, "not json at all", ""] {
        let response = post_raw(&app, "/api/v1/crypto/encrypt", &admin, json, body).await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_json".into()),
            "{body:?}"
        );
    }

    // Wrong types: the message must not quote the submitted value.
    let mistyped = [
        (
            "/api/v1/crypto/encrypt",
            json!({ "context": "payments", "plaintext": 12345 }),
        ),
        (
            "/api/v1/crypto/encrypt",
            json!({ "context": [CANARY], "plaintext": "aGk=" }),
        ),
        (
            "/api/v1/crypto/datakey",
            json!({ "context": "payments", "bits": CANARY }),
        ),
        (
            "/api/v1/crypto/datakey",
            json!({ "context": "payments", "include_plaintext": CANARY }),
        ),
        (
            "/api/v1/crypto/batch/encrypt",
            json!({ "context": "payments", "items": CANARY }),
        ),
        (
            "/api/admin/contexts/payments/min-decryption-version",
            json!({ "version": CANARY }),
        ),
    ];
    for (path, body) in mistyped {
        let response = if path.contains("min-decryption") {
            app.put(path, &admin, &body).await
        } else {
            app.post(path, &admin, &body).await
        };
        let (status, code, message) = error_parts(response).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid_json"),
            "{path} {body}"
        );
        assert!(
            !message.contains(CANARY),
            "{path}: message echoes the value: {message}"
        );
        assert!(
            !message.contains("12345"),
            "{path}: message echoes the value: {message}"
        );
    }

    // A missing field is named.
    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &admin,
            &json!({ "context": "payments" }),
        )
        .await;
    let (status, code, message) = error_parts(response).await;
    assert_eq!((status, code.as_str()), (400, "invalid_json"));
    assert!(message.contains("plaintext"), "{message}");
    let response = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({ "plaintext": "aGk=" }),
        )
        .await;
    let (_, code, message) = error_parts(response).await;
    assert_eq!(code, "invalid_json");
    assert!(message.contains("context"), "{message}");
}

#[tokio::test]
async fn bad_base64_size_and_media_type() {
    let (app, admin) = app_with_context().await;
    let ciphertext = app.encrypt(&admin, "payments", b"x").await;

    for body in [
        json!({ "context": "payments", "plaintext": "not base64!" }),
        json!({ "context": "payments", "plaintext": "aGk=", "associated_data": "%%%" }),
        json!({ "context": "payments", "plaintext": "aGk" }),
    ] {
        let response = app.post("/api/v1/crypto/encrypt", &admin, &body).await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_base64".into()),
            "{body}"
        );
    }
    let response = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({ "context": "payments", "ciphertext": ciphertext, "associated_data": "@@" }),
        )
        .await;
    assert_eq!(error_code(response).await, (400, "invalid_base64".into()));

    // No content type, or the wrong one.
    let body = json!({ "context": "payments", "plaintext": "aGk=" }).to_string();
    let response = post_raw(&app, "/api/v1/crypto/encrypt", &admin, None, body.clone()).await;
    assert_eq!(
        error_code(response).await,
        (415, "unsupported_media_type".into())
    );
    let response = post_raw(
        &app,
        "/api/v1/crypto/encrypt",
        &admin,
        Some("text/plain"),
        body,
    )
    .await;
    assert_eq!(
        error_code(response).await,
        (415, "unsupported_media_type".into())
    );

    // Over the body limit.
    let small = app.deployment.spawn_with(|s| s.body_limit = 4096).await;
    let big = json!({ "context": "payments", "plaintext": b64(&[7u8; 8192]) });
    let response = small.post("/api/v1/crypto/encrypt", &admin, &big).await;
    assert_eq!(
        error_code(response).await,
        (413, "payload_too_large".into())
    );
    let response = small
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({ "name": "x".repeat(8192) }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (413, "payload_too_large".into())
    );
    // Under the limit still works there.
    assert_eq!(small.decrypt(&admin, "payments", &ciphertext).await, b"x");
}

#[tokio::test]
async fn unknown_and_invalid_names_routes_and_methods() {
    let (app, admin) = app_with_context().await;

    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &admin,
            &json!({ "context": "nope", "plaintext": "aGk=" }),
        )
        .await;
    assert_eq!(error_code(response).await, (404, "unknown_context".into()));
    let too_long = "a".repeat(65);
    for name in [
        "bad name",
        "-leading-dash",
        "",
        "emoji-\u{1F600}",
        too_long.as_str(),
    ] {
        let response = app
            .post(
                "/api/v1/crypto/encrypt",
                &admin,
                &json!({ "context": name, "plaintext": "aGk=" }),
            )
            .await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_request".into()),
            "{name:?}"
        );
        let response = app
            .post("/api/admin/contexts", &admin, &json!({ "name": name }))
            .await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_request".into()),
            "{name:?}"
        );
    }
    let longest = "a".repeat(64);
    app.create_context(&admin, &longest, "aes-256-gcm").await;

    let response = app
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({ "name": "payments" }),
        )
        .await;
    assert_eq!(error_code(response).await, (409, "conflict".into()));
    let response = app
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({ "name": "weird", "algorithm": "rot13" }),
        )
        .await;
    assert_eq!(error_code(response).await, (400, "invalid_request".into()));
    for bits in [192, 0, 100] {
        let response = app
            .post(
                "/api/v1/crypto/datakey",
                &admin,
                &json!({ "context": "payments", "bits": bits }),
            )
            .await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_request".into()),
            "{bits}"
        );
    }

    for path in [
        "/api/v1/nope",
        "/nope",
        "/api/admin/nothing-here",
        "/api/v1/crypto",
    ] {
        let response = app.get(path, Some(&admin)).await;
        assert_eq!(
            error_code(response).await,
            (404, "not_found".into()),
            "{path}"
        );
    }
    for path in ["/api/v1/crypto/encrypt", "/api/v1/crypto/batch/decrypt"] {
        let response = app.get(path, Some(&admin)).await;
        assert_eq!(
            error_code(response).await,
            (405, "method_not_allowed".into()),
            "{path}"
        );
    }
    let response = app.delete("/api/v1/crypto/decrypt", &admin).await;
    assert_eq!(
        error_code(response).await,
        (405, "method_not_allowed".into())
    );
}

/// Flips one bit of the binary envelope inside a `cs1:v1:` ciphertext at `offset`.
fn flip(ciphertext: &str, offset: usize) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (prefix, encoded) = ciphertext.rsplit_once(':').unwrap();
    let mut bytes = engine.decode(encoded).unwrap();
    bytes[offset] ^= 0x01;
    format!("{prefix}:{}", engine.encode(bytes))
}

#[tokio::test]
async fn every_decryption_failure_looks_the_same() {
    let (app, admin) = app_with_context().await;
    app.create_context(&admin, "other", "aes-256-gcm").await;
    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &admin,
            &json!({ "context": "payments", "plaintext": b64(b"secret"), "associated_data": b64(b"ad") }),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let good = body["ciphertext"].as_str().unwrap().to_owned();
    let ad = Some(b64(b"ad"));

    let cases: Vec<(&str, &str, String, Option<String>)> = vec![
        (
            "tampered tag",
            "payments",
            flip(&good, good.len() / 2),
            ad.clone(),
        ),
        ("tampered header", "payments", flip(&good, 20), ad.clone()),
        ("tampered body", "payments", flip(&good, 61), ad.clone()),
        ("wrong context", "other", good.clone(), ad.clone()),
        (
            "wrong associated data",
            "payments",
            good.clone(),
            Some(b64(b"other")),
        ),
        ("missing associated data", "payments", good.clone(), None),
        (
            "truncated",
            "payments",
            good[..good.len() - 10].to_owned(),
            ad.clone(),
        ),
        ("prefix only", "payments", "cs1:v1:".into(), ad.clone()),
        (
            "version mismatch",
            "payments",
            good.replacen("cs1:v1:", "cs1:v2:", 1),
            ad.clone(),
        ),
        ("garbage", "payments", "hello world".into(), ad.clone()),
        ("empty", "payments", String::new(), ad.clone()),
    ];
    let mut messages = Vec::new();
    for (name, context, ciphertext, associated_data) in cases {
        let mut body = json!({ "context": context, "ciphertext": ciphertext });
        if let Some(ad) = associated_data {
            body["associated_data"] = json!(ad);
        }
        let response = app.post("/api/v1/crypto/decrypt", &admin, &body).await;
        let (status, code, message) = error_parts(response).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "decryption_failed"),
            "{name}"
        );
        messages.push((name, message));
    }
    let first = messages[0].1.clone();
    for (name, message) in &messages {
        assert_eq!(
            message, &first,
            "{name}: decryption failures must be uniform"
        );
    }
    // The genuine article still opens.
    let response = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({ "context": "payments", "ciphertext": good, "associated_data": ad }),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn wrong_methods_on_admin_routes_are_405() {
    let (app, admin) = app_with_context().await;
    let response = app
        .get("/api/admin/contexts/payments/rotate", Some(&admin))
        .await;
    assert_eq!(
        error_code(response).await,
        (405, "method_not_allowed".into()),
        "GET on POST /api/admin/contexts/{{name}}/rotate"
    );
    let response = app.delete("/api/admin/contexts", &admin).await;
    assert_eq!(
        error_code(response).await,
        (405, "method_not_allowed".into()),
        "DELETE on /api/admin/contexts"
    );
}

/// Sends `request` as raw bytes on a fresh connection and reads the whole answer: the status
/// code, the head (lower-cased) and the body.
async fn raw_exchange(app: &TestApp, request: Vec<u8>) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    // The server may close while part of a huge request is unread: what arrived is the answer.
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn request_with_padding(path: &str, padding: usize) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(padding)
    )
    .into_bytes()
}

#[tokio::test]
async fn header_fields_over_16_kib_get_a_json_431_from_the_server() {
    let app = Deployment::sqlite().spawn().await;

    // Just under the limit: the request goes on to authentication.
    let (status, _, _) =
        raw_exchange(&app, request_with_padding("/api/admin/contexts", 15_000)).await;
    assert_eq!(status, 401);

    let (status, head, body) =
        raw_exchange(&app, request_with_padding("/api/admin/contexts", 17_000)).await;
    assert_eq!(status, 431, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("x-request-id: "), "{head}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "request_header_fields_too_large");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("16384"),
        "{body}"
    );
    assert!(
        !body.to_string().contains("aaaa"),
        "never echoes the headers"
    );

    // Under /v1 (the Vault-compatible API), Vault's shape.
    let (status, _, body) =
        raw_exchange(&app, request_with_padding("/v1/transit/keys/k", 17_000)).await;
    assert_eq!(status, 431);
    let body: Value = serde_json::from_str(&body).unwrap();
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors[0].as_str().unwrap().contains("header fields"),
        "{body}"
    );

    // Past actix's own 128 KiB head buffer, actix answers a bare 431 before the app runs.
    let (status, _, _) =
        raw_exchange(&app, request_with_padding("/api/admin/contexts", 140_000)).await;
    assert_eq!(status, 431);
}
