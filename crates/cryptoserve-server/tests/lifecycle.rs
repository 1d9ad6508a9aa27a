//! The real binary's operational behaviour: graceful shutdown under a stream of requests, and
//! JSON log lines that carry the instance id and never a secret.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_cryptoserve");

fn free_port() -> u16 {
    cryptoserve_testkit::net::free_port().unwrap()
}

/// Spawns `command` (a `serve`) with stderr drained by a thread, so a full pipe never blocks
/// the server's logging; joining the thread gives every line once the server has exited.
fn spawn_with_logs(command: &mut Command) -> (Child, std::thread::JoinHandle<String>) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).unwrap();
        logs
    });
    (child, log_reader)
}

fn cryptoserve(dir: &Path, port: u16) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CRYPTOSERVE_DATA_DIR", dir.join("data"))
        .env("CRYPTOSERVE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CRYPTOSERVE_INSTANCE_ID", "lifecycle-test-node")
        .env("CRYPTOSERVE_LOG_FORMAT", "json")
        .env("CRYPTOSERVE_SHUTDOWN_DELAY", "1")
        .env("CRYPTOSERVE_SHUTDOWN_TIMEOUT", "10");
    command
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{base}/health/ready")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not become ready");
}

fn admin_token(dir: &Path, port: u16) -> String {
    let output = cryptoserve(dir, port)
        .args(["identity", "create", "--name", "ops", "--role", "admin"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts an HTTP request by hand and sends only part of its body, so it is in flight.
fn start_slow_request(port: u16, token: &str, body: &str) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/v1/crypto/encrypt HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first).unwrap();
    stream.flush().unwrap();
    (stream, rest.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut child, log_reader) = spawn_with_logs(cryptoserve(dir.path(), port).arg("serve"));
    let base = format!("http://127.0.0.1:{port}");
    // No keep-alive: every request is its own connection, so each one is either refused
    // (never accepted) or accepted and must then be answered completely.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    wait_ready(&client, &base).await;
    let token = admin_token(dir.path(), port);
    let headers = |r: reqwest::RequestBuilder| r.bearer_auth(&token);
    assert_eq!(
        headers(client.post(format!("{base}/api/admin/contexts")))
            .json(&json!({"name": "payments"}))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    for dimension in ["ip", "identity", "context"] {
        let response =
            headers(client.put(format!("{base}/api/admin/rate-limits/defaults/{dimension}")))
                .json(&json!({"requests_per_minute": 1_000_000, "burst_size": 100_000}))
                .send()
                .await
                .unwrap();
        assert_eq!(response.status(), 200);
    }

    // A steady stream of requests from four clients.
    let stop = Arc::new(AtomicBool::new(false));
    // When the listener closes (SIGTERM + 1 s delay), connections still waiting in the kernel's
    // accept backlog are reset: the application never accepted them. Errors without any
    // response after that moment are counted as such; any earlier error is a failure.
    let listener_closes = Arc::new(parking_lot::Mutex::new(None::<Instant>));
    let completed = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (stop, completed, refused) = (stop.clone(), completed.clone(), refused.clone());
        let listener_closes = listener_closes.clone();
        workers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = client
                    .post(format!("{base}/api/v1/crypto/encrypt"))
                    .bearer_auth(&token)
                    .json(&json!({"context": "payments", "plaintext": "aGVsbG8="}))
                    .send()
                    .await;
                match sent {
                    Ok(response) => {
                        let status = response.status();
                        match response.json::<Value>().await {
                            Ok(body) if status == 200 && body["ciphertext"].is_string() => {
                                completed.fetch_add(1, Ordering::Relaxed);
                            }
                            other => failures.push(format!("{status}: {other:?}")),
                        }
                    }
                    Err(error) if error.is_connect() => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(error) => {
                        let after_close = listener_closes
                            .lock()
                            .is_some_and(|closes| Instant::now() >= closes);
                        if after_close && !error.is_body() && !error.is_decode() {
                            refused.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failures.push(format!("accepted but not answered: {error:?}"));
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            failures
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let body = json!({"context": "payments", "plaintext": "aW4tZmxpZ2h0IHJlcXVlc3Q="}).to_string();
    let (mut slow, rest) = start_slow_request(port, &token, &body);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    *listener_closes.lock() = Some(signalled + Duration::from_millis(950));
    sigterm(&child);
    // Readiness turns 503 at once while the listener is still open (delay = 1 s).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "readiness must fail while draining");
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["draining"], true);

    // Finish the in-flight request after the listener has closed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    slow.write_all(&rest).unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "in-flight request: {response}"
    );
    assert!(response.contains("\"ciphertext\":\"cs1:v1:"), "{response}");

    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "did not exit in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.unwrap());
    }
    assert!(status.success(), "exit status {status:?}");
    let completed = completed.load(Ordering::Relaxed);
    println!(
        "graceful shutdown: {completed} completed, {} refused after close, {} failed, exit {status}",
        refused.load(Ordering::Relaxed),
        failures.len()
    );
    assert!(completed > 20, "the stream ran ({completed} completed)");
    assert!(
        failures.is_empty(),
        "accepted requests without a complete answer: {failures:?}"
    );

    // The JSON logs: one object per line, instance id on every line, no secrets.
    let logs = log_reader.join().unwrap();
    let secrets: Vec<String> = ["master.key", "jwt.secret", "hkdf.salt"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(dir.path().join("data").join(f))
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect();
    let mut request_lines = 0;
    for line in logs.lines().filter(|l| l.starts_with('{')) {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(value["instance_id"], "lifecycle-test-node", "{line}");
        assert!(
            value["timestamp"].is_string() && value["level"].is_string(),
            "{line}"
        );
        for secret in secrets.iter().chain([&token]) {
            assert!(
                !line.contains(secret.as_str()),
                "a secret reached the log: {line}"
            );
        }
        assert!(
            !line.contains("aGVsbG8="),
            "plaintext reached the log: {line}"
        );
        if value["message"] == "request completed" {
            request_lines += 1;
            assert_eq!(value["target"], "cryptoserve::access", "{line}");
            for field in [
                "request_id",
                "method",
                "route",
                "status",
                "latency_ms",
                "identity",
                "context",
            ] {
                assert!(!value[field].is_null(), "missing {field}: {line}");
            }
        }
    }
    assert!(
        request_lines >= completed,
        "{request_lines} request lines for {completed} requests"
    );
    assert!(logs.contains("shutdown requested"), "{logs}");
}

/// The per-request line has its own target, so `RUST_LOG` can drop it while every other
/// event (here: startup and shutdown) is still logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_line_can_be_switched_off_with_rust_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut child, log_reader) = spawn_with_logs(
        cryptoserve(dir.path(), port)
            .env("RUST_LOG", "info,cryptoserve::access=off")
            .arg("serve"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_ready(&client, &base).await;
    for path in ["/health/live", "/api/v1/crypto/encrypt", "/no-such-route"] {
        client.get(format!("{base}{path}")).send().await.unwrap();
    }
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let logs = log_reader.join().unwrap();
    assert!(logs.contains("shutdown requested"), "{logs}");
    assert!(!logs.contains("request completed"), "{logs}");
}
