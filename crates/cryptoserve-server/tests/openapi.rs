//! The OpenAPI document: committed copy current, every route described, every described route
//! served, and the schemas of the store's records in step with the records themselves.
//!
//! After changing a handler or a type in the API, regenerate `docs/openapi.json` with
//! `CRYPTOSERVE_WRITE_OPENAPI=1 cargo test -p cryptoserve-server --test openapi`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;
use serde_json::{json, Value};

use cryptoserve_server::openapi;
use support::Deployment;

const REGENERATE: &str =
    "CRYPTOSERVE_WRITE_OPENAPI=1 cargo test -p cryptoserve-server --test openapi";

fn committed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn spec() -> Value {
    serde_json::from_str(&openapi::to_json()).unwrap()
}

/// (method, path template) of every described operation.
fn operations(spec: &Value) -> Vec<(String, String)> {
    let mut list = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch", "head"] {
            if item.get(method).is_some() {
                list.push((method.to_owned(), path.clone()));
            }
        }
    }
    list
}

#[test]
fn committed_document_is_current() {
    let generated = openapi::to_json();
    let path = committed_path();
    if std::env::var_os("CRYPTOSERVE_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is not the document the code generates; regenerate it with\n\n    \
         {REGENERATE}\n\nand commit the result"
    );
}

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every `web::get()`-style route registration under `src/routes/` is one operation. Counting
/// them catches a route added without a description; `described_routes_are_served` checks
/// that each description names a real route, so together the two sets are equal.
#[test]
fn every_registered_route_is_described() {
    let mut files = Vec::new();
    source_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes"),
        &mut files,
    );
    let registered: usize = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            ["get", "post", "put", "delete", "patch", "head"]
                .iter()
                .map(|method| text.matches(&format!("web::{method}()")).count())
                .sum::<usize>()
        })
        .sum();
    let described = operations(&spec()).len();
    assert_eq!(
        registered, described,
        "src/routes registers {registered} routes but the OpenAPI document describes \
         {described}: give each handler a #[utoipa::path(...)], list it in its family's \
         `...Api` (e.g. routes::admin::AdminApi), then run {REGENERATE}"
    );
}

/// A path template with its parameters filled with plausible values.
fn concrete(template: &str) -> String {
    template
        .replace("{name}", "openapi-probe")
        .replace("{id}", "00000000-0000-4000-8000-000000000000")
        .replace("{scope}", "context")
        .replace("{dimension}", "ip")
        .replace("{key}", "openapi-probe")
        .replace("{path}", "transit")
        .replace("{kind}", "plaintext")
        .replace("{rest}", "encryption-key/openapi-probe")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn described_routes_are_served() {
    let app = Deployment::sqlite().spawn().await;
    let admin = app.admin_token().await;
    for (method, template) in operations(&spec()) {
        let mut url = format!("{}{}", app.address, concrete(&template));
        if template == "/v1/transit/keys" {
            // Its one required query parameter: without it a GET is Vault's 405.
            url.push_str("?list=true");
        }
        let request = match method.as_str() {
            "get" => app.client.get(&url),
            "post" => app.client.post(&url).json(&json!({})),
            "put" => app.client.put(&url).json(&json!({})),
            "delete" => app.client.delete(&url),
            "patch" => app.client.patch(&url).json(&json!({})),
            "head" => app.client.head(&url),
            other => panic!("no probe for {other}"),
        };
        let response = request.bearer_auth(&admin).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let unrouted =
            status == 405 || (status == 404 && body["error"]["message"] == "no such route");
        assert!(
            !unrouted,
            "{} {template} is described but not served: {status} {body}",
            method.to_uppercase()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_served_without_a_token() {
    let app = Deployment::sqlite().spawn().await;
    let response = app.get("/api/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(response.text().await.unwrap(), openapi::to_json());
}

/// Keys of `value` as serialised JSON must be the schema's properties, and every required
/// property must be present.
fn assert_matches_schema(spec: &Value, name: &str, value: &impl Serialize) {
    let value = serde_json::to_value(value).unwrap();
    let schema = &spec["components"]["schemas"][name];
    let mut described: Vec<&String> = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} has no properties"))
        .keys()
        .collect();
    let mut actual: Vec<&String> = value.as_object().unwrap().keys().collect();
    described.sort();
    actual.sort();
    assert_eq!(
        actual, described,
        "the JSON of {name} and its schema (src/openapi/) have different fields"
    );
    for required in schema["required"].as_array().into_iter().flatten() {
        assert!(
            !value[required.as_str().unwrap()].is_null(),
            "{name}.{required} is required but null"
        );
    }
}

#[test]
fn store_records_match_their_schemas() {
    use cryptoserve_store::*;
    let spec = spec();
    let now = Utc::now();
    assert_matches_schema(
        &spec,
        "ContextRecord",
        &ContextRecord {
            name: "payments".into(),
            description: String::new(),
            algorithm: Algorithm::Aes256Gcm,
            current_version: 1,
            min_decryption_version: 1,
            min_encryption_version: 0,
            derived: true,
            convergent: true,
            deletion_allowed: false,
            auto_rotate_period_secs: 86_400,
            generation_id: Some("00112233445566778899aabbccddeeff".into()),
            created_at: now,
            updated_at: now,
        },
    );
    assert_matches_schema(
        &spec,
        "KeyVersionRecord",
        &KeyVersionRecord {
            context_name: "payments".into(),
            version: 1,
            master_key_id: "mk".into(),
            status: KeyStatus::DecryptOnly,
            created_at: now,
        },
    );
    assert_matches_schema(
        &spec,
        "IdentityRecord",
        &IdentityRecord {
            id: "id".into(),
            name: "svc".into(),
            role: Role::Service,
            allowed_contexts: vec!["*".into()],
            created_at: now,
            expires_at: Some(now),
            revoked_at: None,
        },
    );
    assert_matches_schema(
        &spec,
        "RateLimitPolicyRecord",
        &RateLimitPolicyRecord {
            scope: RateLimitScope::Default,
            dimension: RateLimitDimension::Ip,
            key: String::new(),
            requests_per_minute: 60,
            burst_size: 10,
            enabled: true,
            updated_at: now,
        },
    );
    assert_matches_schema(
        &spec,
        "AuditRecord",
        &AuditRecord {
            id: 1,
            at: now,
            actor: "cli".into(),
            action: "context.create".into(),
            target: "payments".into(),
            request_id: String::new(),
            client_ip: String::new(),
            outcome: "success".into(),
            details: None,
            prev_mac: "0".repeat(64),
            mac: "0".repeat(64),
        },
    );
    assert_matches_schema(
        &spec,
        "AuditVerification",
        &AuditVerification {
            rows_checked: 2,
            ok: false,
            first_broken_id: Some(2),
            last_id: Some(2),
            head_mac: Some("0".repeat(64)),
            checkpoints: vec![cryptoserve_api::CheckedCheckpoint {
                source: cryptoserve_api::CheckpointSource::Request,
                checkpoint: cryptoserve_api::AuditCheckpoint {
                    sequence: 3,
                    head_mac: "0".repeat(64),
                    at: now,
                    mac: "0".repeat(64),
                },
                authentic: true,
            }],
            problems: vec![cryptoserve_api::AuditProblem {
                kind: cryptoserve_api::AuditProblemKind::Truncated,
                row_id: 3,
                detail: "rows after it were deleted".into(),
            }],
        },
    );
    assert_matches_schema(
        &spec,
        "UsageRow",
        &UsageRow {
            minute: now,
            identity_id: "id".into(),
            context: "payments".into(),
            operation: "encrypt".into(),
            outcome: "success".into(),
            count: 1,
            bytes: 9,
        },
    );
    assert_matches_schema(
        &spec,
        "PoolStatus",
        &PoolStatus {
            size: 1,
            idle: 1,
            in_use: 0,
            max: 10,
        },
    );
    let error = cryptoserve_server::error::ApiError::NotFound("x".into()).body(Some("req"));
    assert_matches_schema(&spec, "ErrorBody", &error);
    assert_matches_schema(&spec, "ErrorDetail", &error.error);
}
