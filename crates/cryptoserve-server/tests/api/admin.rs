//! The admin API: contexts, identities, token revocation and the audit log, on SQLite and on
//! PostgreSQL.

use serde_json::{json, Value};

use crate::helpers::{claims, create_identity, encrypt_status, on_every_backend};
use crate::support::{error_code, Deployment};

on_every_backend!(
    contexts_round_trip,
    identities_round_trip,
    token_revocation_round_trip,
);

fn status_of(versions: &Value) -> Vec<(i64, String)> {
    versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn contexts_round_trip(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;

    let response = app
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({ "name": "ledger", "description": "money", "algorithm": "chacha20-poly1305" }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "ledger");
    assert_eq!(created["description"], "money");
    assert_eq!(created["algorithm"], "chacha20-poly1305");
    assert_eq!(created["current_version"], 1);
    assert_eq!(created["min_decryption_version"], 1);

    let response = app
        .post("/api/admin/contexts", &admin, &json!({ "name": "plain" }))
        .await;
    assert_eq!(response.status(), 201);
    let plain: Value = response.json().await.unwrap();
    assert_eq!(plain["algorithm"], "aes-256-gcm", "default algorithm");

    let response = app.get("/api/admin/contexts", Some(&admin)).await;
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.unwrap();
    let mut names: Vec<&str> = list["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ledger", "plain"]);

    let response = app.get("/api/admin/contexts/ledger", Some(&admin)).await;
    assert_eq!(response.status(), 200);
    let shown: Value = response.json().await.unwrap();
    assert_eq!(shown["name"], "ledger");
    assert_eq!(status_of(&shown["key_versions"]), [(1, "active".into())]);
    let master_key_id = shown["key_versions"][0]["master_key_id"].as_str().unwrap();
    assert!(!master_key_id.is_empty());
    assert!(
        !shown.to_string().contains(&deployment.master_key),
        "metadata only, never key material"
    );

    let response = app
        .post("/api/admin/contexts/ledger/rotate", &admin, &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated["current_version"], 2);
    assert_eq!(rotated["min_decryption_version"], 1);
    let shown: Value = app
        .get("/api/admin/contexts/ledger", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status_of(&shown["key_versions"]),
        [(1, "decrypt_only".into()), (2, "active".into())]
    );

    let response = app
        .put(
            "/api/admin/contexts/ledger/min-decryption-version",
            &admin,
            &json!({ "version": 2 }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["min_decryption_version"], 2);
    assert_eq!(updated["current_version"], 2);
    let shown: Value = app
        .get("/api/admin/contexts/ledger", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        status_of(&shown["key_versions"]),
        [(1, "retired".into()), (2, "active".into())]
    );

    // Out-of-range minimums are refused as client errors.
    for version in [0, 3] {
        let response = app
            .put(
                "/api/admin/contexts/ledger/min-decryption-version",
                &admin,
                &json!({ "version": version }),
            )
            .await;
        let (status, code) = error_code(response).await;
        assert!(
            (status, code.as_str()) == (400, "invalid_request")
                || (status, code.as_str()) == (409, "conflict"),
            "min version {version}: {status} {code}"
        );
    }

    // Unknown contexts are 404 everywhere.
    let response = app.get("/api/admin/contexts/nope", Some(&admin)).await;
    assert_eq!(error_code(response).await, (404, "unknown_context".into()));
    let response = app
        .post("/api/admin/contexts/nope/rotate", &admin, &json!({}))
        .await;
    assert_eq!(error_code(response).await, (404, "unknown_context".into()));
    let response = app
        .put(
            "/api/admin/contexts/nope/min-decryption-version",
            &admin,
            &json!({ "version": 1 }),
        )
        .await;
    assert_eq!(error_code(response).await, (404, "unknown_context".into()));
}

async fn identities_round_trip(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "ledger", "aes-256-gcm").await;

    let response = app
        .post(
            "/api/admin/identities",
            &admin,
            &json!({ "name": "billing", "role": "service", "contexts": ["ledger"] }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["identity"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["identity"]["name"], "billing");
    assert_eq!(created["identity"]["role"], "service");
    assert_eq!(created["identity"]["allowed_contexts"], json!(["ledger"]));
    assert!(created["identity"]["revoked_at"].is_null());
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&token)["sub"], id.as_str());
    assert_eq!(encrypt_status(&app, &token, "ledger").await, 200);

    let list: Value = app
        .get("/api/admin/identities", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(list["identities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == id.as_str()));

    let response = app
        .get(&format!("/api/admin/identities/{id}"), Some(&admin))
        .await;
    assert_eq!(response.status(), 200);
    let shown: Value = response.json().await.unwrap();
    assert_eq!(shown["name"], "billing");
    assert!(shown["revoked_at"].is_null());
    assert!(!shown.to_string().contains(&token), "tokens are shown once");

    // An admin created through the API is a working admin.
    let (_, second_admin) = create_identity(&app, &admin, "admin", &[]).await;
    let response = app.get("/api/admin/contexts", Some(&second_admin)).await;
    assert_eq!(response.status(), 200);

    // Bad requests.
    let response = app
        .post(
            "/api/admin/identities",
            &admin,
            &json!({ "name": "x", "role": "root" }),
        )
        .await;
    assert_eq!(error_code(response).await, (400, "invalid_request".into()));
    let response = app
        .post(
            "/api/admin/identities",
            &admin,
            &json!({ "name": "x", "role": "service" }),
        )
        .await;
    assert_eq!(error_code(response).await, (400, "invalid_request".into()));
    let response = app
        .get("/api/admin/identities/no-such-identity", Some(&admin))
        .await;
    assert_eq!(error_code(response).await, (404, "not_found".into()));

    // Revocation.
    let response = app
        .delete(&format!("/api/admin/identities/{id}"), &admin)
        .await;
    assert_eq!(response.status(), 200);
    let revoked: Value = response.json().await.unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let shown: Value = app
        .get(&format!("/api/admin/identities/{id}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(shown["revoked_at"].is_string());
    let response = app
        .post(
            "/api/v1/crypto/encrypt",
            &token,
            &json!({ "context": "ledger", "plaintext": "aGk=" }),
        )
        .await;
    assert_eq!(error_code(response).await, (401, "unauthorized".into()));
    let response = app
        .delete("/api/admin/identities/no-such-identity", &admin)
        .await;
    assert_eq!(error_code(response).await, (404, "not_found".into()));

    // An admin cannot revoke itself (it would lock itself, or everyone, out).
    let (admin_id, second_admin) = create_identity(&app, &admin, "admin", &[]).await;
    let response = app
        .delete(&format!("/api/admin/identities/{admin_id}"), &second_admin)
        .await;
    assert_eq!(error_code(response).await, (409, "conflict".into()));
    let list = app.get("/api/admin/identities", Some(&second_admin)).await;
    assert_eq!(list.status(), 200, "the admin still works after refusing");
}

async fn token_revocation_round_trip(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "ledger", "aes-256-gcm").await;
    let (id, token) = create_identity(&app, &admin, "service", &["ledger"]).await;
    assert_eq!(encrypt_status(&app, &token, "ledger").await, 200);

    let response = app
        .post(
            "/api/admin/tokens/revoke",
            &admin,
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["revoked"]["jti"], claims(&token)["jti"]);
    assert_eq!(body["revoked"]["identity_id"], id.as_str());
    assert_eq!(encrypt_status(&app, &token, "ledger").await, 401);

    // Only the token is revoked, not the identity.
    let shown: Value = app
        .get(&format!("/api/admin/identities/{id}"), Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert!(shown["revoked_at"].is_null());

    let response = app
        .post(
            "/api/admin/tokens/revoke",
            &admin,
            &json!({ "token": "not-a-token" }),
        )
        .await;
    assert_eq!(error_code(response).await, (400, "invalid_request".into()));
}
