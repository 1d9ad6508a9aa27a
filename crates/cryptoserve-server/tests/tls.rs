//! The real `cryptoserve` binary over TLS: handshakes against the development CA, mutual TLS,
//! plain HTTP sent to the TLS port, the plain ops listener, certificate reload under load (file
//! change and SIGHUP, with a broken pair in between), and production's refusal to serve plain
//! HTTP unless told to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoserve_server::tls::dev_cert::{DevCa, Validity};
use cryptoserve_testkit::cryptoserve::{binary, CryptoServe};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn ca_cert(server: &CryptoServe) -> reqwest::Certificate {
    let pem = std::fs::read(server.tls_dir().join("ca.crt")).unwrap();
    reqwest::Certificate::from_pem(&pem).unwrap()
}

fn client(server: &CryptoServe, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca_cert(server))
        .timeout(Duration::from_secs(10));
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    builder.build().unwrap()
}

fn identity_from(dir: &Path) -> reqwest::Identity {
    let mut pem = std::fs::read(dir.join("client.crt")).unwrap();
    pem.extend(std::fs::read(dir.join("client.key")).unwrap());
    reqwest::Identity::from_pem(&pem).unwrap()
}

async fn encrypt_round_trip(client: &reqwest::Client, server: &CryptoServe) -> TestResult {
    let response = client
        .post(format!("{}/api/v1/crypto/encrypt", server.address))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"context": "tls-test", "plaintext": "aGVsbG8="}))
        .send()
        .await?;
    if response.status() != 200 {
        return Err(format!("encrypt: {}", response.status()).into());
    }
    let body: serde_json::Value = response.json().await?;
    let decrypted: serde_json::Value = client
        .post(format!("{}/api/v1/crypto/decrypt", server.address))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"context": "tls-test", "ciphertext": body["ciphertext"]}))
        .send()
        .await?
        .json()
        .await?;
    if decrypted["plaintext"] != "aGVsbG8=" {
        return Err(format!("decrypt gave {decrypted}").into());
    }
    Ok(())
}

async fn create_context(client: &reqwest::Client, server: &CryptoServe) -> TestResult {
    let response = client
        .post(format!("{}/api/admin/contexts", server.address))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"name": "tls-test"}))
        .send()
        .await?;
    if response.status() != 201 {
        return Err(format!("create context: {}", response.status()).into());
    }
    Ok(())
}

/// Lifts the default limits out of the way of a load test (limits are not what it tests).
async fn lift_rate_limits(client: &reqwest::Client, server: &CryptoServe) -> TestResult {
    for dimension in ["ip", "identity", "context"] {
        let response = client
            .put(format!(
                "{}/api/admin/rate-limits/defaults/{dimension}",
                server.address
            ))
            .bearer_auth(&server.admin_token)
            .json(&serde_json::json!({"requests_per_minute": 1_000_000, "burst_size": 100_000}))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("rate limit {dimension}: {}", response.status()).into());
        }
    }
    Ok(())
}

/// A raw TLS connection (rustls, trusting `ca`), to see the served certificate and to keep
/// one connection open across a reload.
struct Raw {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl Raw {
    fn connect(port: u16, ca: &Path) -> Result<Raw, Box<dyn std::error::Error>> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca)? {
            roots.add(cert?)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        // Offered like Go's and curl's clients do; the server must pick HTTP/1.1.
        let mut config = config;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let connection =
            rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost")?)?;
        let tcp = TcpStream::connect(("127.0.0.1", port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Raw { stream })
    }

    /// Serial number (hex) of the certificate this connection was served.
    fn serial(&self) -> String {
        let leaf = &self.stream.conn.peer_certificates().unwrap()[0];
        let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
        parsed.raw_serial_as_string()
    }

    /// One keep-alive `GET`; returns the status code.
    fn get(&mut self, path: &str) -> Result<u16, Box<dyn std::error::Error>> {
        write!(
            self.stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )?;
        self.stream.flush()?;
        let mut reader = BufReader::new(&mut self.stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line)?;
        let status: u16 = status_line.split(' ').nth(1).ok_or("no status")?.parse()?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok(status)
    }
}

fn fresh_serial(server: &CryptoServe) -> String {
    Raw::connect(server.port(), &server.tls_dir().join("ca.crt"))
        .unwrap()
        .serial()
}

fn metrics(server: &CryptoServe) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", server.ops_port())).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

fn reissue(server: &CryptoServe) {
    let output = std::process::Command::new(binary().unwrap())
        .args(["tls", "dev-cert", "--out"])
        .arg(server.tls_dir())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[tokio::test]
async fn mutual_tls_admits_only_certificates_from_the_configured_ca() -> TestResult {
    let server = CryptoServe::start_tls(true)?;
    let dir = server.tls_dir();
    let admitted = client(&server, Some(identity_from(&dir)));
    create_context(&admitted, &server).await?;
    encrypt_round_trip(&admitted, &server).await?;

    let without = client(&server, None)
        .get(format!("{}/health/live", server.address))
        .send()
        .await;
    assert!(without.is_err(), "no client certificate: {without:?}");

    let other = DevCa::generate("another CA")?.issue_client("intruder", Validity::days(1))?;
    let stranger =
        reqwest::Identity::from_pem(format!("{}{}", other.cert_pem, other.key_pem).as_bytes())?;
    let refused = client(&server, Some(stranger))
        .get(format!("{}/health/live", server.address))
        .send()
        .await;
    assert!(refused.is_err(), "foreign client certificate: {refused:?}");

    // Probes and scrapers use the plain ops listener, which serves nothing else.
    let ops = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", server.ops_port());
    assert_eq!(
        ops.get(format!("{base}/health/ready"))
            .send()
            .await?
            .status(),
        200
    );
    let deep: serde_json::Value = ops
        .get(format!("{base}/health/deep"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(deep["tls"]["enabled"], true);
    assert_eq!(deep["tls"]["client_auth"], true);
    assert!(deep["tls"]["certificate_days_left"].as_i64().unwrap() >= 89);
    let api = ops
        .post(format!("{base}/api/v1/crypto/encrypt"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"context": "tls-test", "plaintext": "aGVsbG8="}))
        .send()
        .await?;
    assert_eq!(api.status(), 404, "the ops listener must not serve the API");
    Ok(())
}

#[test]
fn plain_http_to_the_tls_port_gets_no_http_answer_and_tls_clients_get_http_1_1() -> TestResult {
    let server = CryptoServe::start_tls(false)?;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port()))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP must not be served on the TLS port"
    );
    // The connection was closed (a TLS alert at most), and TLS clients are still served.
    assert!(answer.len() < 64, "{} bytes", answer.len());
    let mut raw = Raw::connect(server.port(), &server.tls_dir().join("ca.crt"))?;
    assert_eq!(raw.get("/health/live")?, 200);
    // HTTP/2 is not offered (see docs/configuration.md#tls for the measurement).
    assert_eq!(raw.stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(!server.log().contains("panicked"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn certificates_reload_under_load_without_a_failed_request() -> TestResult {
    let server = Arc::new(CryptoServe::start_tls(false)?);
    let ca = server.tls_dir().join("ca.crt");
    let before = fresh_serial(&server);
    let mut kept = Raw::connect(server.port(), &ca)?;
    assert_eq!(kept.get("/health/live")?, 200);
    create_context(&client(&server, None), &server).await?;
    lift_rate_limits(&client(&server, None), &server).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (server, stop, ok, failed) = (server.clone(), stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            // Workers 0-1 keep their connections; 2-3 open a new one (a new handshake) each time.
            let mut builder = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(ca_cert(&server));
            if worker >= 2 {
                builder = builder.pool_max_idle_per_host(0);
            }
            let client = builder.build().unwrap();
            while !stop.load(Ordering::Relaxed) {
                match encrypt_round_trip(&client, &server).await {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(error) => {
                        eprintln!("failed: {error}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    reissue(&server);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut after = fresh_serial(&server);
    while after == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = fresh_serial(&server);
    }
    assert_ne!(after, before, "new handshakes must get the new certificate");
    // The connection made before the reload still works, on its original certificate.
    assert_eq!(kept.get("/health/live")?, 200);
    assert_eq!(kept.serial(), before);

    // A broken pair is refused: the previous certificate keeps being served, loudly.
    std::fs::write(server.tls_dir().join("server.key"), "not a key")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&metrics(&server), "cryptoserve_tls_reload_failing") != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "the failed reload was not reported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fresh_serial(&server), after);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await?;
    }
    let text = metrics(&server);
    assert!(metric(&text, "cryptoserve_tls_reloads_total{result=\"success\"}") >= Some(1.0));
    assert!(metric(&text, "cryptoserve_tls_reloads_total{result=\"failure\"}") >= Some(1.0));
    assert!(server.log().contains("TLS certificate reload FAILED"));
    assert!(
        !server.log().contains("not a key"),
        "file contents must not be logged"
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed requests during the reloads"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 20,
        "too little load to mean anything"
    );
    Ok(())
}

#[test]
fn sighup_reloads_when_polling_is_off() -> TestResult {
    let dir = tempfile::tempdir()?;
    let tls = dir.path().join("tls");
    let output = std::process::Command::new(binary()?)
        .args(["tls", "dev-cert", "--out"])
        .arg(&tls)
        .output()?;
    assert!(output.status.success());
    let server = CryptoServe::start_with(cryptoserve_testkit::cryptoserve::ServeOptions {
        tls: Some(cryptoserve_testkit::cryptoserve::ServeTls {
            cert: tls.join("server.crt"),
            key: tls.join("server.key"),
            client_ca: None,
        }),
        env: vec![("CRYPTOSERVE_TLS_RELOAD_INTERVAL".into(), "0".into())],
    })?;
    let serial = |server: &CryptoServe| {
        Raw::connect(server.port(), &tls.join("ca.crt"))
            .unwrap()
            .serial()
    };
    let before = serial(&server);
    let output = std::process::Command::new(binary()?)
        .args(["tls", "dev-cert", "--out"])
        .arg(&tls)
        .output()?;
    assert!(output.status.success());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        serial(&server),
        before,
        "no polling: nothing reloads by itself"
    );
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while serial(&server) == before {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut raw = Raw::connect(server.port(), &tls.join("ca.crt"))?;
    assert_eq!(raw.get("/health/live")?, 200, "the process survived SIGHUP");
    Ok(())
}

#[test]
fn production_refuses_plain_http_unless_tls_is_off_explicitly() -> TestResult {
    let keygen = std::process::Command::new(binary()?)
        .arg("keygen")
        .output()?;
    let secrets: Vec<(String, String)> = String::from_utf8(keygen.stdout)?
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let dir = tempfile::tempdir()?;
    let run = |extra: &[(&str, &str)]| {
        let mut command = std::process::Command::new(binary().unwrap());
        command
            .env_clear()
            .env("CRYPTOSERVE_ENV", "production")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/db.sqlite?mode=rwc", dir.path().display()),
            )
            .env("CRYPTOSERVE_LISTEN", "127.0.0.1:0")
            .envs(secrets.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied())
            .arg("serve");
        command
    };
    let refused = run(&[]).output()?;
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("CRYPTOSERVE_TLS=off"), "{message}");

    // Explicitly off: it starts, and says so.
    let mut child = run(&[("CRYPTOSERVE_TLS", "off")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // Logs go to stderr; the warning comes before the listener binds.
    let stdout = child.stderr.take().ok_or("no stderr")?;
    let mut warned = false;
    for line in BufReader::new(stdout).lines().take(50) {
        let line = line?;
        if line.contains("TLS is off") {
            warned = true;
            break;
        }
    }
    child.kill()?;
    child.wait()?;
    assert!(warned, "CRYPTOSERVE_TLS=off must be announced at startup");
    Ok(())
}
