//! JWT secret rotation on a live 3-instance cluster, exactly as
//! `docs/operations/secret-rotation.md` tells an operator to do it, with TLS on every hop and a
//! steady stream of encrypt → decrypt round trips through nginx throughout:
//!
//! 1. a service token is issued under the old secret (`cryptoserve identity create`);
//! 2. rolling restart to `JWT_SECRET_KEY=<new>`, `JWT_PREVIOUS_SECRET_KEYS=<old>`, one backend
//!    at a time, while the load uses the old token: zero failed requests;
//! 3. a token minted by `cryptoserve identity create` under the new secret works, through nginx
//!    and on every backend;
//! 4. a final rolling restart without `JWT_PREVIOUS_SECRET_KEYS`, with the load on the new
//!    token (zero failed requests); then the old token is refused (401) everywhere and the new
//!    one still works.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use cryptoserve_cluster::Cluster;
use secrecy::ExposeSecret;
use serde_json::json;

use support::api::{crypto_ok, Api};
use support::harness::{setup, three_backends, wait_until, Drills, CONTEXT};

#[test]
fn jwt_secret_rotation_with_rolling_restarts() {
    let started = Instant::now();
    let cluster = three_backends();
    let old_token = mint(&cluster, "issued-before-rotation");
    let mut drills = Drills::new(cluster, old_token.clone());
    setup(&drills);

    // 2. Roll every backend to the new secret, keeping the old one as previous.
    let old_secret = drills.cluster.server_env("JWT_SECRET_KEY").unwrap();
    let new_secret = fresh_jwt_secret(&drills.cluster);
    assert_ne!(new_secret, old_secret.expose_secret());
    let pids_before = pids(&drills.cluster);
    let load = drills.start_load("rotation: rolling restart to the new secret, old token");
    std::thread::sleep(Duration::from_secs(1));
    drills.cluster.set_server_env("JWT_SECRET_KEY", &new_secret);
    drills
        .cluster
        .set_server_env("JWT_PREVIOUS_SECRET_KEYS", old_secret.expose_secret());
    roll_every_backend(&mut drills);
    std::thread::sleep(Duration::from_secs(1));
    let report = drills.finish(load);
    report.assert_no_failures(100);
    assert_eq!(report.retried, 0, "{report}");
    let pids_after = pids(&drills.cluster);
    for (index, (before, after)) in pids_before.iter().zip(&pids_after).enumerate() {
        assert_ne!(before, after, "backend {index} was not restarted");
    }
    let old_through_nginx = api_for(&drills, &old_token);
    for index in drills.running() {
        let backend = old_through_nginx.at(drills.cluster.backend(index).unwrap().url());
        assert_eq!(
            encrypt(&drills, &backend),
            200,
            "backend {index} refuses the old token while the old secret is a previous one"
        );
    }

    // 3. A token minted now is signed with the new secret and works everywhere.
    let new_token = mint(&drills.cluster, "issued-after-rotation");
    let through_nginx = api_for(&drills, &new_token);
    assert_eq!(encrypt(&drills, &through_nginx), 200);
    for index in drills.running() {
        let backend = through_nginx.at(drills.cluster.backend(index).unwrap().url());
        assert_eq!(encrypt(&drills, &backend), 200, "backend {index}");
    }

    // 4. Drop the previous secret with one more rolling restart; the load moves to the new token.
    drills.cluster.remove_server_env("JWT_PREVIOUS_SECRET_KEYS");
    drills.load.token = new_token.clone();
    let load =
        drills.start_load("rotation: rolling restart without the previous secret, new token");
    std::thread::sleep(Duration::from_secs(1));
    roll_every_backend(&mut drills);
    std::thread::sleep(Duration::from_secs(1));
    let report = drills.finish(load);
    report.assert_no_failures(100);

    assert_eq!(encrypt(&drills, &old_through_nginx), 401);
    assert_eq!(encrypt(&drills, &through_nginx), 200);
    for index in drills.running() {
        let url = drills.cluster.backend(index).unwrap().url();
        assert_eq!(
            encrypt(&drills, &old_through_nginx.at(url.clone())),
            401,
            "backend {index} still accepts the old token"
        );
        assert_eq!(
            encrypt(&drills, &through_nginx.at(url)),
            200,
            "backend {index}"
        );
    }
    println!(
        "  old token refused (401) and new token served on nginx and backends {:?}",
        drills.running()
    );

    drills.cluster.down().expect("cluster stops");
    println!(
        "secret rotation drill done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `cryptoserve identity create` for a service identity on the drill context, with the
/// environment new processes get now (so, signed with the current `JWT_SECRET_KEY`).
fn mint(cluster: &Cluster, name: &str) -> String {
    cluster
        .run_server_command(&[
            "identity",
            "create",
            "--name",
            name,
            "--role",
            "service",
            "--contexts",
            CONTEXT,
        ])
        .unwrap()
        .trim()
        .to_owned()
}

/// A new `JWT_SECRET_KEY` from `cryptoserve keygen`, as the runbook makes one.
fn fresh_jwt_secret(cluster: &Cluster) -> String {
    let output = cluster.run_server_command(&["keygen"]).unwrap();
    output
        .lines()
        .find_map(|line| line.strip_prefix("JWT_SECRET_KEY="))
        .expect("keygen prints JWT_SECRET_KEY")
        .trim()
        .to_owned()
}

/// One backend at a time: drain, restart with the current environment, wait until ready, then
/// until nginx sends it requests again before the next one goes. nginx keeps a backend it could
/// not reach out of rotation for `fail_timeout` (10 s by default) even once it is back; stopping
/// the next one earlier would leave nginx with no backend it is willing to try.
fn roll_every_backend(drills: &mut Drills) {
    for index in drills.running() {
        let began = Instant::now();
        let status = drills.cluster.roll_backend(index).unwrap();
        assert!(status.success(), "backend {index} exited with {status}");
        let ready = began.elapsed();
        wait_until(
            Duration::from_secs(30),
            "nginx sends requests to the restarted backend",
            || crypto_ok(&drills.metrics(index)) > 0.0,
        );
        println!(
            "  backend {index} rolled: ready after {:.1} s, serving through nginx after {:.1} s",
            ready.as_secs_f64(),
            began.elapsed().as_secs_f64()
        );
    }
}

fn pids(cluster: &Cluster) -> Vec<Option<u32>> {
    cluster.backends().iter().map(|b| b.pid()).collect()
}

/// The drills' client (cluster CA, client certificate) with another token.
fn api_for(drills: &Drills, token: &str) -> Api {
    Api {
        token: token.to_owned(),
        ..drills.admin.clone()
    }
}

/// Status of one encrypt with `api`'s token at its base URL.
fn encrypt(drills: &Drills, api: &Api) -> u16 {
    let body = json!({ "context": CONTEXT, "plaintext": "aGk=" });
    drills
        .runtime
        .block_on(api.send(reqwest::Method::POST, "/api/v1/crypto/encrypt", Some(body)))
        .status
}
