//! Audit checkpoints and the `cryptoserve::audit` log target, over HTTP: verifying against a
//! given checkpoint reports tampering done with SQL by kind (SQLite and PostgreSQL); a forged
//! checkpoint is refused; with Redis the checkpoint is published there, only moves forward,
//! and is used by a plain `GET /verify`; the real binary prints every audit row and
//! checkpoint as a JSON line on `cryptoserve::audit`.

use std::time::Duration;

use cryptoserve_api::{AuditCheckpoint, AuditVerification};
use cryptoserve_ratelimit::{RedisLimiter, RedisLimiterConfig};
use cryptoserve_server::audit_log::REDIS_CHECKPOINT_KEY;
use cryptoserve_server::config::secrets;
use cryptoserve_server::startup::connect_store;
use cryptoserve_testkit::cryptoserve::CryptoServe;
use cryptoserve_testkit::redis::RedisServer;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};

use crate::helpers::{eventually, on_every_backend};
use crate::support::{error_code, Deployment, TestApp};

on_every_backend!(tampering_is_reported_by_kind_against_a_checkpoint);

/// The chain's head now, signed as the server signs it.
async fn checkpoint_now(app: &TestApp) -> AuditCheckpoint {
    let resolved = secrets::resolve(&app.settings).unwrap();
    let store = connect_store(&app.settings, &resolved).await.unwrap();
    let checkpoint = store.audit_checkpoint().await.unwrap().unwrap();
    store.close().await.unwrap();
    checkpoint
}

async fn raw_sql(deployment: &Deployment, sql: &str) -> u64 {
    let db = Database::connect(&deployment.database_url).await.unwrap();
    let affected = db.execute_unprepared(sql).await.unwrap().rows_affected();
    db.close().await.unwrap();
    affected
}

async fn verify(app: &TestApp, admin: &str, body: Option<Value>) -> AuditVerification {
    let response = match body {
        Some(body) => app.post("/api/admin/audit/verify", admin, &body).await,
        None => app.get("/api/admin/audit/verify", Some(admin)).await,
    };
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn kinds(verification: &AuditVerification) -> Vec<(String, i64)> {
    let value = serde_json::to_value(verification).unwrap();
    value["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["row_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn tampering_is_reported_by_kind_against_a_checkpoint(deployment: Deployment) {
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    for name in ["a1", "a2", "a3", "a4"] {
        app.create_context(&admin, name, "aes-256-gcm").await;
    }
    let checkpoint = checkpoint_now(&app).await;
    let head = checkpoint.sequence;
    let body = json!({ "checkpoint": checkpoint });

    let intact = verify(&app, &admin, Some(body.clone())).await;
    assert!(intact.ok, "{intact:?}");
    assert_eq!(intact.last_id, Some(head));
    let given = serde_json::to_value(&intact.checkpoints).unwrap();
    assert_eq!(given[0]["source"], "request");
    assert_eq!(given[0]["authentic"], true);

    let mut forged = serde_json::to_value(&checkpoint).unwrap();
    forged["sequence"] = json!(head + 1);
    let response = app
        .post(
            "/api/admin/audit/verify",
            &admin,
            &json!({ "checkpoint": forged }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (400, "invalid_checkpoint".into())
    );

    // Delete the tail: the chain alone still verifies, the checkpoint does not.
    raw_sql(
        &deployment,
        &format!("DELETE FROM admin_audit_log WHERE id = {head}"),
    )
    .await;
    assert!(verify(&app, &admin, None).await.ok);
    let truncated = verify(&app, &admin, Some(body.clone())).await;
    assert!(!truncated.ok);
    assert_eq!(kinds(&truncated), [("truncated".to_owned(), head)]);

    // Delete a middle row, then edit another (not its neighbour): each its own finding.
    raw_sql(
        &deployment,
        &format!("DELETE FROM admin_audit_log WHERE id = {}", head - 2),
    )
    .await;
    raw_sql(
        &deployment,
        &format!(
            "UPDATE admin_audit_log SET actor = 'mallory' WHERE id = {}",
            head - 4
        ),
    )
    .await;
    let damaged = verify(&app, &admin, Some(body)).await;
    assert_eq!(
        kinds(&damaged),
        [
            ("rewritten".to_owned(), head - 4),
            ("gap".to_owned(), head - 1),
            ("truncated".to_owned(), head)
        ]
    );
    assert_eq!(damaged.first_broken_id, Some(head - 4));
}

async fn redis_checkpoint(redis: &RedisLimiter) -> Option<AuditCheckpoint> {
    redis
        .forward_only_value(REDIS_CHECKPOINT_KEY)
        .await
        .unwrap()
        .map(|json| serde_json::from_str(&json).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_checkpoint_only_moves_forward_and_is_used_by_verify() {
    let redis = tokio::task::spawn_blocking(|| RedisServer::start().expect("redis-server starts"))
        .await
        .unwrap();
    let deployment = Deployment::sqlite().with_redis(redis.url());
    let app = deployment.spawn().await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "published", "aes-256-gcm").await;
    let head = checkpoint_now(&app).await.sequence;
    let limiter = RedisLimiter::connect(RedisLimiterConfig::new(redis.url()))
        .await
        .unwrap();
    // Published after the admin change, not at the next minute.
    assert!(
        eventually(Duration::from_secs(10), || async {
            redis_checkpoint(&limiter).await.map(|c| c.sequence) == Some(head)
        })
        .await
    );
    let published = redis_checkpoint(&limiter).await.unwrap();

    // A lagging instance (or anyone) cannot move it back, nor replace it at the same row.
    let stale = serde_json::to_string(&published).unwrap();
    assert!(!limiter
        .advance_forward_only(REDIS_CHECKPOINT_KEY, head - 1, &stale)
        .await
        .unwrap());
    assert!(!limiter
        .advance_forward_only(REDIS_CHECKPOINT_KEY, head, "{}")
        .await
        .unwrap());
    // A second instance publishes the same head at start: refused, unchanged.
    let second = deployment.spawn().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(redis_checkpoint(&limiter).await.unwrap(), published);

    // A plain GET compares with the Redis checkpoint: deleting the head is truncation.
    raw_sql(
        &deployment,
        &format!("DELETE FROM admin_audit_log WHERE id = {head}"),
    )
    .await;
    let verification = verify(&second, &admin, None).await;
    assert!(!verification.ok);
    assert_eq!(kinds(&verification), [("truncated".to_owned(), head)]);
    let checked = serde_json::to_value(&verification.checkpoints).unwrap();
    assert_eq!(checked[0]["source"], "redis");

    // A forged checkpoint in Redis is reported, not trusted.
    let mut forged = published.clone();
    forged.sequence = head + 100;
    limiter
        .advance_forward_only(
            REDIS_CHECKPOINT_KEY,
            forged.sequence,
            &serde_json::to_string(&forged).unwrap(),
        )
        .await
        .unwrap();
    let verification = verify(&second, &admin, None).await;
    assert!(!verification.ok);
    assert!(!verification.checkpoints[0].authentic);
}

/// The `cryptoserve::audit` lines in a log, parsed.
fn audit_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|line| line.contains("\"target\":\"cryptoserve::audit\""))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_audit_rows_and_checkpoints_as_json_lines() {
    let server = tokio::task::spawn_blocking(|| CryptoServe::start().expect("cryptoserve starts"))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/api/admin/contexts", server.address))
        .bearer_auth(&server.admin_token)
        .json(&json!({ "name": "siem-fed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let found = eventually(Duration::from_secs(10), || async {
        let lines = audit_lines(&server.log());
        let record = lines
            .iter()
            .find(|l| l["kind"] == "record" && l["record"]["action"] == "context.create");
        let Some(record) = record else { return false };
        let id = record["record"]["id"].as_i64().unwrap();
        lines
            .iter()
            .any(|l| l["kind"] == "checkpoint" && l["checkpoint"]["sequence"] == id)
    })
    .await;
    assert!(found, "{}", server.log());

    let lines = audit_lines(&server.log());
    let record = lines
        .iter()
        .find(|l| l["kind"] == "record" && l["record"]["action"] == "context.create")
        .unwrap();
    assert_eq!(record["record"]["target"], "siem-fed");
    assert_eq!(record["record"]["outcome"], "success");
    assert!(record["record"]["details"].is_object(), "{record}");
    assert_eq!(record["record"]["mac"].as_str().unwrap().len(), 64);
    assert!(record["timestamp"].is_string() && record["level"] == "INFO");

    // The newest checkpoint line, as a shipper kept it, verifies the chain.
    let checkpoint = lines
        .iter()
        .rev()
        .find(|l| l["kind"] == "checkpoint")
        .unwrap()["checkpoint"]
        .clone();
    let verification: AuditVerification = client
        .post(format!("{}/api/admin/audit/verify", server.address))
        .bearer_auth(&server.admin_token)
        .json(&json!({ "checkpoint": checkpoint }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.checkpoints.len(), 1);
}
