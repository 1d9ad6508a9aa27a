//! The Vault-Transit-compatible API against the real application: the real `vaultrs` client,
//! keys and contexts as one model through both APIs, real deletion, roles as capabilities.
//! (hvac, the `bao` CLI and the differential run against OpenBao live in tests/vault-compat.)

use base64::Engine;
use serde_json::{json, Value};
use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};

use crate::helpers::{on_every_backend, relax_rate_limits};
use crate::support::{b64, Deployment, TestApp};

on_every_backend!(
    vaultrs_creates_encrypts_decrypts_rotates_and_rewraps,
    a_transit_key_is_a_context_through_both_apis,
    a_deleted_key_never_decrypts_again_even_when_recreated,
    service_tokens_get_the_capabilities_of_their_role,
    a_derived_context_serves_both_apis_with_the_same_derivation,
);

const STD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn started(deployment: Deployment) -> (TestApp, String) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    relax_rate_limits(&app, &admin).await;
    (app, admin)
}

async fn transit(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/v1/transit/{path}", app.address))
        .header("X-Vault-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{path}: Vault clients compare the header exactly"
    );
    (status, response.json().await.unwrap_or(Value::Null))
}

fn vault_client(app: &TestApp, token: &str) -> VaultClient {
    // vaultrs builds a rustls client even for http://; give it the ring provider (installing
    // twice from parallel tests is harmless, hence the ignored result).
    let _ = rustls::crypto::ring::default_provider().install_default();
    VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&app.address)
            .token(token)
            .build()
            .unwrap(),
    )
    .unwrap()
}

async fn vaultrs_creates_encrypts_decrypts_rotates_and_rewraps(deployment: Deployment) {
    use vaultrs::transit::{data, key};
    let (app, admin) = started(deployment).await;
    let client = vault_client(&app, &admin);

    key::create(&client, "transit", "orders", None)
        .await
        .unwrap();
    let info = key::read(&client, "transit", "orders").await.unwrap();
    assert_eq!(info.name, "orders");
    assert_eq!(info.min_decryption_version, 1);
    assert!(info.supports_encryption && !info.exportable);

    let plaintext = STD.encode("order #42");
    let sealed = data::encrypt(&client, "transit", "orders", &plaintext, None)
        .await
        .unwrap();
    assert!(
        sealed.ciphertext.starts_with("vault:v1:"),
        "{}",
        sealed.ciphertext
    );
    let opened = data::decrypt(&client, "transit", "orders", &sealed.ciphertext, None)
        .await
        .unwrap();
    assert_eq!(opened.plaintext, plaintext);

    key::rotate(&client, "transit", "orders").await.unwrap();
    let rewrapped = data::rewrap(&client, "transit", "orders", &sealed.ciphertext, None)
        .await
        .unwrap();
    assert!(
        rewrapped.ciphertext.starts_with("vault:v2:"),
        "{}",
        rewrapped.ciphertext
    );
    let opened = data::decrypt(&client, "transit", "orders", &rewrapped.ciphertext, None)
        .await
        .unwrap();
    assert_eq!(opened.plaintext, plaintext);

    // A refusal reaches vaultrs as Vault's `{"errors": [...]}` with the status code.
    let error = data::decrypt(&client, "transit", "orders", "vault:v1:AAAA", None)
        .await
        .unwrap_err();
    match error {
        vaultrs::error::ClientError::APIError { code, errors } => {
            assert_eq!(code, 400);
            assert!(!errors.is_empty());
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let names = key::list(&client, "transit").await.unwrap().keys;
    assert_eq!(names, ["orders"]);
}

async fn a_transit_key_is_a_context_through_both_apis(deployment: Deployment) {
    let (app, admin) = started(deployment).await;
    // Created through Transit: a context in the admin API, with its attributes.
    let (status, _) = transit(&app, &admin, "keys/invoices", json!({"derived": "true"})).await;
    assert_eq!(status, 200);
    let context: Value = app
        .get("/api/admin/contexts/invoices", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(context["derived"], true);
    assert_eq!(context["generation_id"].as_str().map(str::len), Some(32));

    // Created natively: usable through Transit; ciphertext moves between the two forms.
    app.create_context(&admin, "payments", "chacha20-poly1305")
        .await;
    let (status, body) = transit(&app, &admin, "keys/payments", json!({})).await;
    assert_eq!(
        (status, body["data"]["type"].as_str()),
        (200, Some("chacha20-poly1305"))
    );
    let native = app
        .encrypt(&admin, "payments", b"from the native API")
        .await;
    let (status, body) = transit(
        &app,
        &admin,
        "decrypt/payments",
        json!({"ciphertext": native}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["plaintext"], b64(b"from the native API"));
    let (_, body) = transit(
        &app,
        &admin,
        "encrypt/payments",
        json!({"plaintext": b64(b"from Transit")}),
    )
    .await;
    let vault_text = body["data"]["ciphertext"].as_str().unwrap().to_owned();
    assert_eq!(
        app.decrypt(&admin, "payments", &vault_text).await,
        b"from Transit"
    );

    // A rotation through one API is the other's current version.
    let (status, body) = transit(&app, &admin, "keys/payments/rotate", json!(null)).await;
    assert_eq!(
        (status, body["data"]["latest_version"].as_i64()),
        (200, Some(2))
    );
    let native = app.encrypt(&admin, "payments", b"v2").await;
    assert!(native.starts_with("cs1:v2:"), "{native}");

    // Derived keys need their context on every call, and a wrong one fails.
    let ctx = b64(b"tenant-1");
    let (_, body) = transit(
        &app,
        &admin,
        "encrypt/invoices",
        json!({"plaintext": b64(b"x"), "context": ctx}),
    )
    .await;
    let sealed = body["data"]["ciphertext"].as_str().unwrap().to_owned();
    for (context, expected) in [
        (Some(ctx.clone()), 200),
        (Some(b64(b"tenant-2")), 400),
        (None, 400),
    ] {
        let (status, _) = transit(
            &app,
            &admin,
            "decrypt/invoices",
            json!({"ciphertext": sealed, "context": context}),
        )
        .await;
        assert_eq!(status, expected, "{context:?}");
    }
}

async fn a_deleted_key_never_decrypts_again_even_when_recreated(deployment: Deployment) {
    let (app, admin) = started(deployment).await;
    let (_, body) = transit(
        &app,
        &admin,
        "encrypt/doomed",
        json!({"plaintext": b64(b"secret")}),
    )
    .await;
    let old = body["data"]["ciphertext"].as_str().unwrap().to_owned();

    let delete = |token: String| {
        let app = &app;
        async move {
            app.client
                .delete(format!("{}/v1/transit/keys/doomed", app.address))
                .header("X-Vault-Token", token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(delete(admin.clone()).await, 400, "deletion_allowed is off");
    let (status, _) = transit(
        &app,
        &admin,
        "keys/doomed/config",
        json!({"deletion_allowed": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(delete(admin.clone()).await, 204);
    let read = app.get("/v1/transit/keys/doomed", Some(&admin)).await;
    assert_eq!(read.status(), 404);
    assert_eq!(read.json::<Value>().await.unwrap(), json!({"errors": []}));

    // Same name, same master key, same salt, same version 1: still a different key.
    let (status, _) = transit(&app, &admin, "keys/doomed", json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = transit(&app, &admin, "decrypt/doomed", json!({"ciphertext": old})).await;
    assert_eq!(status, 400, "old ciphertext must stay dead: {body}");
    let response = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({"context": "doomed", "ciphertext": old}),
        )
        .await;
    assert_eq!(response.status(), 400);

    // The deletion is in the audit chain.
    let audit: Value = app
        .get("/api/admin/audit?limit=1000", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let text = audit.to_string();
    assert!(
        text.contains("context.delete") && text.contains("doomed"),
        "{text}"
    );
}

async fn service_tokens_get_the_capabilities_of_their_role(deployment: Deployment) {
    let (app, admin) = started(deployment).await;
    app.create_context(&admin, "allowed", "aes-256-gcm").await;
    app.create_context(&admin, "other", "aes-256-gcm").await;
    let service = app
        .token(cryptoserve_store::Role::Service, &["allowed"])
        .await;

    let (status, body) = transit(
        &app,
        &service,
        "encrypt/allowed",
        json!({"plaintext": "aGk="}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let denied = json!({"errors": [cryptoserve_server::routes::transit::PERMISSION_DENIED]});
    for (path, body) in [
        ("encrypt/other", json!({"plaintext": "aGk="})),
        ("encrypt/missing", json!({"plaintext": "aGk="})),
        ("keys/new", json!({})),
        ("keys/allowed/rotate", json!({})),
        ("keys/allowed/config", json!({"deletion_allowed": true})),
    ] {
        let (status, answer) = transit(&app, &service, path, body).await;
        assert_eq!((status, &answer), (403, &denied), "{path}");
    }
    let missing = app.get("/api/admin/contexts/missing", Some(&admin)).await;
    assert_eq!(missing.status(), 404, "no upsert without the admin role");
    let (status, body) = transit(
        &app,
        "not-a-token",
        "encrypt/allowed",
        json!({"plaintext": "aGk="}),
    )
    .await;
    assert_eq!(
        (status, body),
        (403, json!({"errors": ["permission denied"]}))
    );
    let lookup = app.get("/v1/auth/token/lookup-self", Some(&service)).await;
    assert_eq!(lookup.status(), 200);
    let lookup: Value = lookup.json().await.unwrap();
    assert_eq!(lookup["data"]["policies"], json!(["cryptoserve-service"]));
    assert_eq!(lookup["data"]["id"], "", "the token is never echoed");
}

async fn a_derived_context_serves_both_apis_with_the_same_derivation(deployment: Deployment) {
    let (app, admin) = started(deployment).await;
    let created = app
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({"name": "tenants", "derived": true}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let tenant = b64(b"tenant-7");
    // Native encrypt without its derivation context is refused, with one it works.
    let body = json!({"context": "tenants", "plaintext": b64(b"row")});
    let refused = app.post("/api/v1/crypto/encrypt", &admin, &body).await;
    assert_eq!(refused.status(), 400);
    let mut with_context = body.clone();
    with_context["derivation_context"] = json!(tenant);
    let sealed: Value = app
        .post("/api/v1/crypto/encrypt", &admin, &with_context)
        .await
        .json()
        .await
        .unwrap();
    let ciphertext = sealed["ciphertext"].as_str().unwrap().to_owned();
    // Transit opens it with the same bytes as its `context`, and nothing else does.
    let (status, body) = transit(
        &app,
        &admin,
        "decrypt/tenants",
        json!({"ciphertext": ciphertext, "context": tenant}),
    )
    .await;
    assert_eq!(
        (status, &body["data"]["plaintext"]),
        (200, &json!(b64(b"row")))
    );
    let other = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({"context": "tenants", "ciphertext": ciphertext,
                    "derivation_context": b64(b"tenant-8")}),
        )
        .await;
    assert_eq!(other.status(), 400);
    let same = app
        .post(
            "/api/v1/crypto/decrypt",
            &admin,
            &json!({"context": "tenants", "ciphertext": ciphertext, "derivation_context": tenant}),
        )
        .await;
    assert_eq!(same.status(), 200);
}
