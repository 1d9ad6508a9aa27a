//! Authentication and authorisation: context scoping, role checks, and every kind of bad
//! token refused with 401 `unauthorized`.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{claims, create_identity, encrypt_status};
use crate::support::{error_code, Deployment, TestApp};

#[tokio::test]
async fn service_identity_is_limited_to_its_contexts() {
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "a", "aes-256-gcm").await;
    app.create_context(&admin, "b", "aes-256-gcm").await;
    let (_, service) = create_identity(&app, &admin, "service", &["a"]).await;
    let in_b = app.encrypt(&admin, "b", b"b data").await;

    let in_a = app.encrypt(&service, "a", b"a data").await;
    assert_eq!(app.decrypt(&service, "a", &in_a).await, b"a data");

    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &service,
            &json!({ "context": "b", "plaintext": "aGk=" }),
        )
        .await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
    let response = app.decrypt_response(&service, "b", &in_b).await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
    for path in ["rewrap", "datakey", "batch/decrypt"] {
        let response = app
            .post(
                &format!("/api/v1/crypto/{path}"),
                &service,
                &json!({ "context": "b", "ciphertext": in_b, "items": [{ "ciphertext": in_b }] }),
            )
            .await;
        assert_eq!(
            error_code(response).await,
            (403, "forbidden".into()),
            "{path}"
        );
    }
    // Moving a ciphertext into an allowed context does not open it.
    let response = app.decrypt_response(&service, "a", &in_b).await;
    assert_eq!(
        error_code(response).await,
        (400, "decryption_failed".into())
    );

    // A `*` service may use every context.
    let (_, everything) = create_identity(&app, &admin, "service", &["*"]).await;
    assert_eq!(encrypt_status(&app, &everything, "b").await, 200);
}

#[tokio::test]
async fn service_token_on_admin_routes_is_forbidden() {
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "a", "aes-256-gcm").await;
    let (_, service) = create_identity(&app, &admin, "service", &["*"]).await;

    let response = app.get("/api/admin/contexts", Some(&service)).await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
    let response = app
        .post("/api/admin/contexts", &service, &json!({ "name": "mine" }))
        .await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
    let response = app
        .post("/api/admin/contexts/a/rotate", &service, &json!({}))
        .await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
    let response = app
        .post(
            "/api/admin/identities",
            &service,
            &json!({ "name": "escalate", "role": "admin" }),
        )
        .await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
    let response = app.get("/api/admin/audit", Some(&service)).await;
    assert_eq!(error_code(response).await, (403, "forbidden".into()));

    // Nothing was changed by the refused calls.
    let shown: Value = app
        .get("/api/admin/contexts/a", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["current_version"], 1);
}

fn sign(algorithm: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn admin_get(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{}/api/admin/contexts", app.address));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn bad_tokens_are_unauthorized() {
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    let secret = app.deployment.jwt_secret.as_bytes().to_vec();
    let now = chrono::Utc::now().timestamp();
    let base = {
        let mut claims = claims(&admin);
        claims["jti"] = json!("forged-token-id");
        claims
    };
    let with = |patch: Value| {
        let mut claims = base.clone();
        for (key, value) in patch.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    };

    // Control: a token we sign ourselves with the right secret and claims is accepted, so
    // each refusal below is about the one thing changed.
    let control = sign(Algorithm::HS256, &secret, &base);
    let response = admin_get(&app, Some(&format!("Bearer {control}"))).await;
    assert_eq!(response.status(), 200, "control token");

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(base.to_string());
    let alg_none = format!("{}.{payload}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#));
    let mut wrong_signature = control.clone();
    let last = wrong_signature.pop().unwrap();
    wrong_signature.push(if last == 'A' { 'B' } else { 'A' });
    let mut missing_exp = base.clone();
    missing_exp.as_object_mut().unwrap().remove("exp");

    let cases: Vec<(&str, Option<String>)> = vec![
        (
            "expired",
            Some(sign(
                Algorithm::HS256,
                &secret,
                &with(json!({ "iat": now - 7200, "exp": now - 3600 })),
            )),
        ),
        (
            "other secret",
            Some(sign(
                Algorithm::HS256,
                b"another-secret-another-secret-xx",
                &base,
            )),
        ),
        ("tampered signature", Some(wrong_signature)),
        ("alg none", Some(alg_none)),
        (
            "HS512 with the right secret",
            Some(sign(Algorithm::HS512, &secret, &base)),
        ),
        (
            "wrong audience",
            Some(sign(
                Algorithm::HS256,
                &secret,
                &with(json!({ "aud": "someone-else" })),
            )),
        ),
        (
            "wrong issuer",
            Some(sign(
                Algorithm::HS256,
                &secret,
                &with(json!({ "iss": "evil" })),
            )),
        ),
        (
            "no exp",
            Some(sign(Algorithm::HS256, &secret, &missing_exp)),
        ),
        (
            "issued in the future",
            Some(sign(
                Algorithm::HS256,
                &secret,
                &with(json!({ "iat": now + 3600 })),
            )),
        ),
        ("garbage", Some("not-a-jwt".into())),
        ("three garbage parts", Some("a.b.c".into())),
    ];
    for (name, token) in cases {
        let token = token.unwrap();
        let response = admin_get(&app, Some(&format!("Bearer {token}"))).await;
        assert_eq!(
            error_code(response).await,
            (401, "unauthorized".into()),
            "{name}"
        );
        // Crypto routes refuse it the same way.
        let response = app
            .post(
                "/api/v1/crypto/encrypt",
                &token,
                &json!({ "context": "x", "plaintext": "aGk=" }),
            )
            .await;
        assert_eq!(
            error_code(response).await,
            (401, "unauthorized".into()),
            "{name}"
        );
    }

    for (name, header) in [
        ("missing header", None),
        ("basic scheme", Some("Basic YWRtaW46YWRtaW4=".to_owned())),
        ("bare token without scheme", Some(admin.clone())),
        ("empty bearer", Some("Bearer ".to_owned())),
    ] {
        let response = admin_get(&app, header.as_deref()).await;
        let www_authenticate = response.headers().get("www-authenticate").cloned();
        assert_eq!(
            error_code(response).await,
            (401, "unauthorized".into()),
            "{name}"
        );
        assert!(www_authenticate.is_some(), "{name}: WWW-Authenticate");
    }
}
