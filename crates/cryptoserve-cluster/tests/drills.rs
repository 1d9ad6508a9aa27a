//! Fault drills: real PostgreSQL, Redis, nginx and `cryptoserve` processes on loopback with
//! TLS on every hop (clients → nginx over TLS, nginx → backends over mutual TLS, one
//! development CA), a steady bounded stream of encrypt/decrypt round trips through nginx, and
//! one fault at a time. Every client here trusts the cluster's CA only; direct calls to a
//! backend's API present the cluster's client certificate, and readiness and metrics are read
//! from the backends' plain ops ports. Each drill prints requests sent, succeeded, failed and p99 latency (visible with
//! `--nocapture`; the same line is in every assertion message).
//!
//! The drills share one cluster and run in order in a single test, because each leaves the
//! cluster healthy for the next and starting a cluster is the expensive part:
//!
//! 1. SIGKILL a backend;
//! 2. SIGTERM a backend;
//! 3. restart Redis;
//! 4. stop and start PostgreSQL;
//! 5. scale 2 → 4 backends;
//! 6. every ciphertext decrypts on every backend;
//! 7. TLS on every hop: unknown CA, plain HTTP and a missing client certificate are refused.
//!
//! Runbooks: `docs/operations/runbook-*.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use cryptoserve_cluster::probe;

use cryptoserve_testkit::metrics::sum as metric_sum;
use support::api::{crypto_ok, Api};
use support::harness::{retried_in_access_log, setup, three_backends, wait_until, Drills, CONTEXT};
use support::tls;

#[test]
fn fault_drills() {
    let started = Instant::now();
    let cluster = three_backends();
    println!(
        "cluster up in {:.1} s: {} → {:?}",
        started.elapsed().as_secs_f64(),
        cluster.url(),
        cluster.backend_urls()
    );
    let admin_token = cluster.admin_token().to_owned();
    let mut drills = Drills::new(cluster, admin_token);
    setup(&drills);

    drill_1_sigkill(&mut drills);
    drill_2_sigterm(&mut drills);
    drill_3_redis_restart(&mut drills);
    drill_4_postgres_outage(&mut drills);
    drill_5_scale_out(&mut drills);
    drill_6_cross_instance(&mut drills);
    drill_7_tls_every_hop(&mut drills);

    drills.cluster.down().expect("cluster stops");
    println!(
        "all drills done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Drill 1: SIGKILL one backend under load: nginx retries, no client sees a failure, the others
/// carry the load.
fn drill_1_sigkill(drills: &mut Drills) {
    let load = drills.start_load("drill 1: SIGKILL backend 0");
    std::thread::sleep(Duration::from_millis(1500));
    drills.cluster.kill_backend(0).unwrap();
    let before: Vec<f64> = [1, 2].map(|i| crypto_ok(&drills.metrics(i))).to_vec();
    std::thread::sleep(Duration::from_secs(3));
    let after: Vec<f64> = [1, 2].map(|i| crypto_ok(&drills.metrics(i))).to_vec();
    let report = drills.finish(load);
    let retried = retried_in_access_log(&drills.cluster);
    println!("  nginx answered {retried} requests after retrying on another backend");
    report.assert_no_failures(100);
    // No reload happens here, so the client never had to re-send: nginx alone hid the fault.
    assert_eq!(report.retried, 0, "{report}");
    for (slot, index) in [1, 2].into_iter().enumerate() {
        assert!(
            after[slot] > before[slot],
            "backend {index} served no crypto request after the kill ({} → {}); {report}",
            before[slot],
            after[slot]
        );
    }
    drills.cluster.restart_backend(0).unwrap();
}

/// Drill 2: SIGTERM one backend under load: readiness turns 503, the listener closes after the
/// delay, in-flight requests finish, exit 0, and no client sees a failure.
fn drill_2_sigterm(drills: &mut Drills) {
    let ops_port = drills.cluster.backend(1).unwrap().ops_port();
    let load = drills.start_load("drill 2: SIGTERM backend 1");
    std::thread::sleep(Duration::from_secs(1));
    let watcher = std::thread::spawn(move || watch_readiness(ops_port));
    let status = drills.cluster.terminate_backend(1).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let report = drills.finish(load);
    let saw_draining = watcher.join().unwrap();
    assert_eq!(report.failed, 0, "{report}");
    // No reload happens here, so the client never had to re-send: nginx alone hid the fault.
    assert_eq!(report.retried, 0, "{report}");
    assert!(status.success(), "backend 1 exited with {status}; {report}");
    assert!(
        saw_draining,
        "backend 1 never answered /health/ready with 503 while draining; {report}"
    );
    drills.cluster.restart_backend(1).unwrap();
}

/// Polls `/health/ready` on a backend's ops port until it refuses connections (the ops
/// listener closes after the main one has drained); true if it saw a 503 draining.
fn watch_readiness(ops_port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut saw_draining = false;
    while Instant::now() < deadline {
        match probe::get(ops_port, "/health/ready", Duration::from_millis(500)) {
            Some(answer) if answer.status == 503 && answer.body.contains("\"draining\":true") => {
                saw_draining = true;
            }
            Some(_) => {}
            None => return saw_draining,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    saw_draining
}

/// Drill 3: Restart Redis under load: no 5xx (no failure at all), decisions fall back while it is
/// gone, and Redis decides again once it is back.
fn drill_3_redis_restart(drills: &mut Drills) {
    let fallback = |drills: &Drills| -> f64 {
        drills
            .running()
            .into_iter()
            .map(|i| {
                metric_sum(
                    &drills.metrics(i),
                    "cryptoserve_rate_limit_backend_decisions_total",
                    "backend=\"fallback\"",
                )
            })
            .sum()
    };
    let before = fallback(drills);
    let load = drills.start_load("drill 3: Redis restart");
    std::thread::sleep(Duration::from_secs(1));
    drills.cluster.stop_redis().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    drills.cluster.start_redis().unwrap();
    // Back to Redis: every backend's readiness reports Redis `ok`, and the fallback counter
    // stops moving.
    let recovered = Instant::now();
    wait_until(
        Duration::from_secs(20),
        "every backend reconnected to Redis",
        || {
            drills.running().into_iter().all(|i| {
                let ready = drills.runtime.block_on(drills.ops_api(i).ready());
                ready.body["checks"]["redis"]["status"] == "ok"
            })
        },
    );
    std::thread::sleep(Duration::from_millis(500));
    let during = fallback(drills);
    std::thread::sleep(Duration::from_secs(2));
    let after = fallback(drills);
    let report = drills.finish(load);
    println!(
        "  fallback decisions: {before} before, {during} after the outage, {after} 2 s later; \
         Redis ok again {:.1} s after restart",
        recovered.elapsed().as_secs_f64() - 2.5
    );
    assert_eq!(report.failed, 0, "{report}");
    // No reload happens here, so the client never had to re-send: nginx alone hid the fault.
    assert_eq!(report.retried, 0, "{report}");
    assert!(
        during > before,
        "no decision fell back while Redis was down; {report}"
    );
    assert_eq!(
        during, after,
        "decisions still fall back after Redis came back; {report}"
    );
}

/// Drill 4: Stop PostgreSQL under load: crypto keeps working from cached metadata, admin calls
/// answer 503 `service_unavailable`, and after the restart admin calls work and no audit
/// row is missing.
fn drill_4_postgres_outage(drills: &mut Drills) {
    let answer = drills
        .runtime
        .block_on(drills.admin.create_context("before-outage"));
    assert_eq!(
        answer.status, 201,
        "creating a context before the outage: {answer:?}"
    );
    let load = drills.start_load("drill 4: PostgreSQL outage");
    std::thread::sleep(Duration::from_secs(1));
    drills.cluster.stop_postgres().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // Well inside CRYPTOSERVE_METADATA_MAX_STALENESS (300 s): every backend stays ready, but
    // says it is degraded, so load balancers keep routing crypto to it.
    let readiness: Vec<(usize, Option<probe::ProbeResponse>)> = drills
        .cluster
        .backends()
        .iter()
        .filter(|backend| backend.is_running())
        .map(|backend| {
            let answer = probe::get(
                backend.ops_port(),
                "/health/ready",
                Duration::from_millis(2000),
            );
            (backend.index(), answer)
        })
        .collect();
    let during = drills
        .runtime
        .block_on(drills.admin.create_context("during-outage"));
    std::thread::sleep(Duration::from_secs(1));
    drills.cluster.start_postgres().unwrap();
    let restarted = Instant::now();
    let mut after = None;
    wait_until(Duration::from_secs(30), "admin calls work again", || {
        let answer = drills
            .runtime
            .block_on(drills.admin.create_context("after-outage"));
        let done = answer.status == 201;
        after = Some(answer);
        done
    });
    println!(
        "  admin calls worked again {:.1} s after PostgreSQL restarted",
        restarted.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(1));
    let report = drills.finish(load);
    println!(
        "  admin call during the outage: {} {}",
        during.status, during.body
    );
    assert_eq!(report.failed, 0, "{report}");
    // No reload happens here, so the client never had to re-send: nginx alone hid the fault.
    assert_eq!(report.retried, 0, "{report}");
    assert_eq!(
        during.status, 503,
        "admin call during the outage: {during:?}; {report}"
    );
    assert_eq!(
        during.body["error"]["code"], "service_unavailable",
        "admin call during the outage: {during:?}"
    );
    assert_eq!(after.map(|a| a.status), Some(201));
    for (index, answer) in &readiness {
        println!(
            "  backend {index} readiness during the outage: {:?}",
            answer.as_ref().map(|a| (a.status, a.body.len()))
        );
        let answer = answer
            .as_ref()
            .unwrap_or_else(|| panic!("backend {index}: no readiness answer during the outage"));
        assert_eq!(
            answer.status, 200,
            "backend {index} readiness during the outage: {}",
            answer.body
        );
        assert!(
            answer.body.contains("\"status\":\"degraded\""),
            "backend {index} readiness during the outage: {}",
            answer.body
        );
    }

    let audit = drills.runtime.block_on(drills.admin.audit());
    assert_eq!(audit.status, 200, "{audit:?}");
    let entries = audit.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for name in [CONTEXT, "before-outage", "after-outage"] {
        assert!(
            entries
                .iter()
                .any(|entry| entry["action"] == "context.create"
                    && entry["target"] == name
                    && entry["outcome"] == "success"),
            "no successful audit row for creating {name}: {entries:?}"
        );
    }
    let verify = drills.runtime.block_on(drills.admin.audit_verify());
    assert_eq!(verify.status, 200, "{verify:?}");
    assert_eq!(verify.body["ok"], true, "audit chain broken: {verify:?}");
    println!(
        "  audit: {} rows, chain ok ({} checked)",
        entries.len(),
        verify.body["rows_checked"]
    );
}

/// Drill 5: Scale from 2 to 4 backends under load (nginx reload): no failure, new backends serve.
fn drill_5_scale_out(drills: &mut Drills) {
    drills.cluster.set_backends(2).unwrap();
    let load = drills.start_load("drill 5: scale 2 → 4");
    std::thread::sleep(Duration::from_secs(1));
    let before_scale = drills.cluster.backends().len();
    drills.cluster.set_backends(4).unwrap();
    let new: Vec<usize> = (before_scale..drills.cluster.backends().len()).collect();
    std::thread::sleep(Duration::from_secs(3));
    let report = drills.finish(load);
    let served: Vec<(usize, f64)> = new
        .iter()
        .map(|&i| (i, crypto_ok(&drills.metrics(i))))
        .collect();
    println!("  crypto requests served by the new backends: {served:?}");
    assert_eq!(report.failed, 0, "{report}");
    assert_eq!(new.len(), 2, "scaling added {new:?}");
    for (index, count) in served {
        assert!(count > 0.0, "new backend {index} got no traffic; {report}");
    }
}

/// Drill 6: Every ciphertext produced through nginx (in all the drills above) decrypts on every
/// running backend, directly.
fn drill_6_cross_instance(drills: &mut Drills) {
    let backends: Vec<Api> = drills
        .running()
        .into_iter()
        .map(|index| drills.backend_api(index))
        .collect();
    let pairs = std::mem::take(&mut drills.ciphertexts);
    let started = Instant::now();
    let results = drills.runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (slot, api) in backends.iter().enumerate() {
            let api = api.clone();
            let pairs = pairs.clone();
            tasks.spawn(async move {
                let mut outcome = Vec::with_capacity(pairs.len());
                for (plaintext, ciphertext) in pairs {
                    let began = Instant::now();
                    let answer = api.decrypt(CONTEXT, &ciphertext).await;
                    use base64::Engine as _;
                    let ok = answer.status == 200
                        && answer.body["plaintext"]
                            .as_str()
                            .and_then(|text| {
                                base64::engine::general_purpose::STANDARD.decode(text).ok()
                            })
                            .is_some_and(|bytes| bytes == plaintext);
                    outcome.push((slot, ok, began.elapsed(), answer.status));
                }
                outcome
            });
        }
        let mut all = Vec::new();
        while let Some(result) = tasks.join_next().await {
            all.extend(result.unwrap());
        }
        all
    });
    let mut latencies: Vec<Duration> = results.iter().map(|r| r.2).collect();
    latencies.sort();
    let failed: Vec<_> = results.iter().filter(|r| !r.1).take(8).collect();
    let failed_count = results.iter().filter(|r| !r.1).count();
    let p99 = latencies
        .get(((latencies.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    let summary = format!(
        "[drill 6: cross-instance] {} ciphertexts × {} backends: sent {} succeeded {} failed {} p99 {:.1} ms in {:.1} s",
        pairs.len(),
        backends.len(),
        results.len(),
        results.len() - failed_count,
        failed_count,
        p99.as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64()
    );
    println!("{summary}");
    assert!(
        pairs.len() >= 100,
        "too few ciphertexts collected: {summary}"
    );
    assert_eq!(
        failed_count, 0,
        "{summary}; failures (backend slot, ok, latency, status): {failed:?}"
    );
}

/// Drill 7: TLS on every hop, while load runs through nginx: a client that does not trust the
/// cluster's CA is refused; plain HTTP sent to nginx's port gets 400 `https_required` (never
/// a redirect); a backend's TLS port refuses a client without a client certificate and
/// serves one with it; and the load through nginx sees no failure meanwhile.
fn drill_7_tls_every_hop(drills: &mut Drills) {
    let load = drills.start_load("drill 7: TLS on every hop");
    std::thread::sleep(Duration::from_millis(500));
    let runtime = &drills.runtime;
    let cluster = &drills.cluster;

    let unknown_ca = tls::refused_without_the_ca(runtime, &cluster.url());
    assert!(
        unknown_ca.contains("UnknownIssuer"),
        "refused for another reason than the unknown CA: {unknown_ca}"
    );

    let (status, body) = tls::plain_http_to(
        runtime,
        cluster.nginx_port(),
        cluster.admin_token(),
        CONTEXT,
    );
    assert_eq!(status, 400, "plain HTTP to nginx: {body}");
    assert_eq!(body["error"]["code"], "https_required", "{body}");

    let index = *drills.running().first().expect("a running backend");
    let backend_url = cluster.backend(index).unwrap().url();
    let refusal =
        tls::refused_without_a_client_cert(runtime, &backend_url, &cluster.ca_cert_path());
    // The same request with the cluster's client certificate is served.
    let with_cert = runtime.block_on(drills.backend_api(index).send(
        reqwest::Method::GET,
        "/health/live",
        None,
    ));
    assert_eq!(with_cert.status, 200, "{with_cert:?}");

    std::thread::sleep(Duration::from_millis(500));
    let report = drills.finish(load);
    println!("  unknown CA refused: {unknown_ca}");
    println!("  plain HTTP to nginx: {status} {}", body["error"]["code"]);
    println!("  backend {index} without a client certificate refused: {refusal}");
    report.assert_no_failures(20);
    assert_eq!(report.retried, 0, "{report}");
}
