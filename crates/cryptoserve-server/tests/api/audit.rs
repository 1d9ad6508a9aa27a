//! The admin audit log: every admin change, and every refused one, leaves a row naming who,
//! what, the target, the request id the client saw and the outcome; the chain verifies.
//! SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::helpers::{claims, on_every_backend, request_id};
use crate::support::{error_code, Deployment};

on_every_backend!(admin_changes_are_audited);

/// One expected audit row: (request id, action, target, outcome).
type Expected = (String, &'static str, String, &'static str);

async fn admin_changes_are_audited(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    let admin_id = claims(&admin)["sub"].as_str().unwrap().to_owned();
    let mut expected: Vec<Expected> = Vec::new();

    // A client-chosen request id is the one recorded.
    let response = app
        .client
        .post(format!("{}/api/admin/contexts", app.address))
        .bearer_auth(&admin)
        .header("X-Request-ID", "audit-trace-0001")
        .json(&json!({ "name": "audited" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(request_id(&response), "audit-trace-0001");
    expected.push((
        "audit-trace-0001".into(),
        "context.create",
        "audited".into(),
        "success",
    ));

    let response = app
        .post("/api/admin/contexts", &admin, &json!({ "name": "audited" }))
        .await;
    let rid = request_id(&response);
    assert_eq!(error_code(response).await, (409, "conflict".into()));
    expected.push((rid, "context.create", "audited".into(), "failure"));

    let response = app
        .post("/api/admin/contexts/audited/rotate", &admin, &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    expected.push((
        request_id(&response),
        "context.rotate",
        "audited".into(),
        "success",
    ));

    let response = app
        .put(
            "/api/admin/contexts/audited/min-decryption-version",
            &admin,
            &json!({ "version": 2 }),
        )
        .await;
    assert_eq!(response.status(), 200);
    expected.push((
        request_id(&response),
        "context.min_decryption_version",
        "audited".into(),
        "success",
    ));

    let response = app
        .post(
            "/api/admin/identities",
            &admin,
            &json!({ "name": "svc", "role": "service", "contexts": ["audited"] }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let rid = request_id(&response);
    let body: Value = response.json().await.unwrap();
    let id = body["identity"]["id"].as_str().unwrap().to_owned();
    let token = body["token"].as_str().unwrap().to_owned();
    expected.push((rid, "identity.create", "svc".into(), "success"));

    let response = app
        .post(
            "/api/admin/tokens/revoke",
            &admin,
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let jti = claims(&token)["jti"].as_str().unwrap().to_owned();
    expected.push((request_id(&response), "token.revoke", jti, "success"));

    let response = app
        .delete(&format!("/api/admin/identities/{id}"), &admin)
        .await;
    assert_eq!(response.status(), 200);
    expected.push((request_id(&response), "identity.revoke", id, "success"));

    let response = app.get("/api/admin/audit?limit=1000", Some(&admin)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let entries = body["entries"].as_array().unwrap();
    for (rid, action, target, outcome) in &expected {
        let row = entries
            .iter()
            .find(|e| e["request_id"] == rid.as_str())
            .unwrap_or_else(|| panic!("no audit row for {action} with request id {rid}"));
        assert_eq!(row["actor"], admin_id.as_str(), "{action}: who");
        assert_eq!(row["action"], *action);
        assert_eq!(row["target"], target.as_str(), "{action}: target");
        assert_eq!(row["outcome"], *outcome, "{action}: outcome");
        assert_eq!(row["client_ip"], "127.0.0.1", "{action}: client ip");
        assert!(row["at"].is_string());
    }

    let response = app.get("/api/admin/audit/verify", Some(&admin)).await;
    assert_eq!(response.status(), 200);
    let verification: Value = response.json().await.unwrap();
    assert_eq!(verification["ok"], true, "{verification}");
    assert!(verification["rows_checked"].as_u64().unwrap() >= expected.len() as u64);
    assert!(verification["first_broken_id"].is_null());

    // Paging: after_id skips what was seen.
    let first_id = entries[0]["id"].as_i64().unwrap();
    let page: Value = app
        .get(
            &format!("/api/admin/audit?after_id={first_id}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), entries.len() - 1);
}
