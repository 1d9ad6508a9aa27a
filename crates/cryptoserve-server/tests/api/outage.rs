//! A PostgreSQL outage with a warm metadata cache: the instance stays ready (`degraded`) and
//! serves crypto until the cache is older than `CRYPTOSERVE_METADATA_MAX_STALENESS`, then
//! answers 503 on `/health/ready`; admin writes answer 503 throughout; once the database is
//! back, readiness returns within one refresh.
//!
//! The test owns its PostgreSQL server (it stops it), unlike the shared one in `helpers.rs`.

use std::time::{Duration, Instant};

use cryptoserve_testkit::postgres::Postgres;
use serde_json::{json, Value};

use crate::support::{error_code, Deployment, TestApp};

// Long enough that a loaded CI machine still checks readiness inside the bound.
const MAX_STALENESS_SECS: u64 = 5;
const REFRESH_MS: u64 = 200;

async fn readiness(app: &TestApp) -> (u16, Value) {
    let response = app.get("/health/ready", None).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_keeps_readiness_degraded_until_the_cache_is_too_old() {
    let mut server = Postgres::start().expect("start postgres");
    let url = server.create_database("outage").expect("create database");
    let app = Deployment::database(url)
        .spawn_with(|s| {
            s.metadata_max_staleness = MAX_STALENESS_SECS;
            s.cache_refresh_ms = REFRESH_MS;
        })
        .await;
    let admin = app.admin_token().await;
    app.create_context(&admin, "payments", "aes-256-gcm").await;
    let before = app.encrypt(&admin, "payments", b"card 4111").await;

    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "ok", "{body}");
    assert_eq!(
        body["checks"]["keyring"]["detail"]["metadata_max_staleness_secs"],
        MAX_STALENESS_SECS
    );
    assert!(body["metadata_age_secs"].as_f64().unwrap() < 2.0, "{body}");

    tokio::task::block_in_place(|| server.stop()).expect("stop postgres");
    let stopped = Instant::now();

    // Inside the bound: ready but degraded, and crypto works from the cache.
    let (status, body) = readiness(&app).await;
    assert!(
        stopped.elapsed() < Duration::from_secs(MAX_STALENESS_SECS - 1),
        "the machine is too slow for this test's timing: {:?}",
        stopped.elapsed()
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "failed", "{body}");
    assert_eq!(body["checks"]["keyring"]["status"], "ok", "{body}");
    let during = app.encrypt(&admin, "payments", b"card 4222").await;
    assert_eq!(app.decrypt(&admin, "payments", &before).await, b"card 4111");
    assert_eq!(app.decrypt(&admin, "payments", &during).await, b"card 4222");
    println!("crypto done {:?} after the stop", stopped.elapsed());

    // Past the bound: 503, because revocations and policy changes can no longer be seen.
    let deadline = stopped + Duration::from_secs(MAX_STALENESS_SECS + 5);
    let (status, body) = loop {
        let (status, body) = readiness(&app).await;
        if status != 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let turned = stopped.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["checks"]["keyring"]["status"], "failed", "{body}");
    let age = body["metadata_age_secs"].as_f64().unwrap();
    // The server turns 503 once the age exceeds the bound; the body rounds it to 0.1 s.
    assert!(age >= MAX_STALENESS_SECS as f64, "{body}");
    println!(
        "readiness turned 503 {:.1} s after the stop, metadata age {age} s",
        turned.as_secs_f64()
    );
    assert!(
        turned < Duration::from_secs(MAX_STALENESS_SECS + 2),
        "readiness turned 503 only {turned:?} after the stop"
    );
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(&format!(
            "cryptoserve_metadata_max_staleness_seconds {MAX_STALENESS_SECS}"
        )),
        "{metrics}"
    );
    let metric_age: i64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("cryptoserve_metadata_age_seconds "))
        .and_then(|value| value.parse().ok())
        .expect("cryptoserve_metadata_age_seconds is exported");
    assert!(metric_age >= MAX_STALENESS_SECS as i64, "{metric_age}");

    // Admin writes are refused, as before this decision, also past the bound.
    let sent = Instant::now();
    let response = app
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({ "name": "during-outage", "algorithm": "aes-256-gcm" }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (503, "service_unavailable".to_owned())
    );
    println!(
        "admin write refused {:.1} s after it was sent",
        sent.elapsed().as_secs_f64()
    );

    // Database back: ready again within one refresh of it accepting queries.
    tokio::task::block_in_place(|| server.start_again()).expect("start postgres again");
    let restarted = Instant::now();
    let (status, body) = loop {
        let (status, body) = readiness(&app).await;
        if status == 200 || restarted.elapsed() > Duration::from_secs(10) {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let recovered = restarted.elapsed();
    println!(
        "ready again {:.2} s after PostgreSQL accepted queries",
        recovered.as_secs_f64()
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    // One refresh: the poll interval, plus the pool's reconnect backoff (under 1 s) for a
    // refresh that was already waiting for a connection when the database came back.
    assert!(
        recovered < Duration::from_millis(REFRESH_MS) + Duration::from_secs(2),
        "not ready again within one refresh: {recovered:?}"
    );
    let response = app
        .post(
            "/api/admin/contexts",
            &admin,
            &json!({ "name": "after-outage", "algorithm": "aes-256-gcm" }),
        )
        .await;
    assert_eq!(response.status(), 201);
}
