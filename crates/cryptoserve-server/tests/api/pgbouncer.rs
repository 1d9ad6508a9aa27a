//! The real binary through a real PgBouncer in transaction mode, as the docs deploy it:
//! `migrate` and a migrating `serve` through PgBouncer are refused with directions,
//! `migrate` over the direct URL then `serve --no-migrate` through PgBouncer serves, and
//! readiness reports the database through PgBouncer. (The API scenarios' `pgbouncer` variants
//! cover the rest of the API through PgBouncer.)

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cryptoserve_testkit::pgbouncer::PgBouncer;
use cryptoserve_testkit::postgres::Postgres;
use serde_json::{json, Value};

use crate::binary::{call, cryptoserve, run_within, Server};
use crate::support::b64;

fn with_database(dir: &Path, data: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = cryptoserve(dir);
    command
        .arg("--data-dir")
        .arg(data)
        .env("DATABASE_URL", url)
        .args(args);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_direct_and_serve_runs_through_pgbouncer() {
    let postgres = Postgres::start().unwrap();
    let bouncer = PgBouncer::start(&postgres).unwrap();
    let through = bouncer.url("cryptoserve");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let limit = Duration::from_secs(60);

    for args in [&["migrate"][..], &["serve"][..]] {
        let output = run_within(with_database(dir.path(), &data, &through, args), limit);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{args:?} through PgBouncer: {stderr}"
        );
        for needle in ["direct connection", "cryptoserve migrate", "--no-migrate"] {
            assert!(
                stderr.contains(needle),
                "{args:?}: no {needle:?} in {stderr}"
            );
        }
    }

    let output = run_within(
        with_database(dir.path(), &data, &postgres.url(), &["migrate"]),
        limit,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run_within(
        with_database(
            dir.path(),
            &data,
            &through,
            &["identity", "create", "--name", "ops", "--role", "admin"],
        ),
        limit,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let server = Server::start_with(
        dir.path(),
        &data,
        "serve",
        &["serve", "--no-migrate"],
        &[("DATABASE_URL", through.as_str())],
    )
    .await;
    let deep: Value = reqwest::get(format!("{}/health/deep", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deep["status"], "healthy", "{deep}");
    assert_eq!(deep["database"]["check"]["status"], "ok", "{deep}");
    assert_eq!(deep["database"]["pgbouncer"], true, "{deep}");

    call(
        &format!("{}/api/admin/contexts", server.url()),
        &token,
        json!({ "name": "payments" }),
    )
    .await;
    let sealed = call(
        &format!("{}/api/v1/crypto/encrypt", server.url()),
        &token,
        json!({ "context": "payments", "plaintext": b64(b"through pgbouncer") }),
    )
    .await;
    let opened = call(
        &format!("{}/api/v1/crypto/decrypt", server.url()),
        &token,
        json!({ "context": "payments", "ciphertext": sealed["ciphertext"] }),
    )
    .await;
    assert_eq!(
        opened["plaintext"],
        b64(b"through pgbouncer"),
        "{}",
        server.stderr_text()
    );
}
