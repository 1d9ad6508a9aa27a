//! The real `cryptoserve` binary: the embedded development default with an empty
//! environment, restarts that keep data decryptable, production refusing missing or bad
//! secrets, `keygen` and `config show`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{b64, unb64};

/// The binary with an empty environment (only `PATH` kept), run from `dir`.
pub(crate) fn cryptoserve(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cryptoserve"));
    command.env_clear().current_dir(dir);
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// Runs a command that must finish within `limit`; kills it otherwise.
pub(crate) fn run_within(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "did not exit within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A running `cryptoserve serve`, killed on drop if still running.
pub(crate) struct Server {
    child: Child,
    port: u16,
    stderr: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    async fn start(dir: &Path, data: &Path, name: &str) -> Server {
        Self::start_with(dir, data, name, &["serve"], &[]).await
    }

    /// Runs `args` (a `serve` command line) with `env` added, and waits until it is ready.
    pub(crate) async fn start_with(
        dir: &Path,
        data: &Path,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let port = cryptoserve_testkit::net::free_port().unwrap();
        let stderr = dir.join(format!("{name}.stderr"));
        let mut command = cryptoserve(dir);
        command
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).unwrap());
        let mut server = Server {
            child: command.spawn().unwrap(),
            port,
            stderr,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("serve exited with {status}: {}", server.stderr_text());
            }
            let ready = client
                .get(format!("{}/health/ready", server.url()))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "not ready: {}",
                server.stderr_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGTERM, then wait for a clean exit.
    async fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub(crate) async fn call(url: &str, token: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_starts_empty_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start(dir.path(), &data, "first").await;
    let stderr = first.stderr_text();
    assert!(
        stderr.contains("DEVELOPMENT"),
        "no development warning: {stderr}"
    );

    let output = run_within(
        {
            let mut command = cryptoserve(dir.path());
            command
                .arg("--data-dir")
                .arg(&data)
                .args(["identity", "create", "--name", "a", "--role", "admin"]);
            command
        },
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "token alone on stdout: {stdout:?}"
    );
    let token = stdout.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");

    call(
        &format!("{}/api/admin/contexts", first.url()),
        &token,
        json!({ "name": "payments" }),
    )
    .await;
    let sealed = call(
        &format!("{}/api/v1/crypto/encrypt", first.url()),
        &token,
        json!({ "context": "payments", "plaintext": b64(b"kept across restarts") }),
    )
    .await;
    let ciphertext = sealed["ciphertext"].as_str().unwrap().to_owned();

    let status = first.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status}");

    for name in ["master.key", "jwt.secret", "hkdf.salt"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} mode {:o}", mode & 0o777);
    }

    let mut second = Server::start(dir.path(), &data, "second").await;
    let opened = call(
        &format!("{}/api/v1/crypto/decrypt", second.url()),
        &token,
        json!({ "context": "payments", "ciphertext": ciphertext }),
    )
    .await;
    assert_eq!(
        unb64(opened["plaintext"].as_str().unwrap()),
        b"kept across restarts"
    );
    second.terminate().await;
}

fn production(dir: &Path, vars: &[(&str, &str)]) -> (ExitStatus, String, Duration) {
    let mut command = cryptoserve(dir);
    command
        .env("CRYPTOSERVE_ENV", "production")
        // These cases are about secrets; production's TLS requirement is tested in tests/tls.rs.
        .env("CRYPTOSERVE_TLS", "off")
        .envs(vars.iter().copied())
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0", "serve"]);
    let started = Instant::now();
    let output = run_within(command, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stderr, started.elapsed())
}

#[test]
fn production_refuses_missing_or_malformed_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let master = "ab".repeat(32);
    let jwt = "j".repeat(48);
    let salt = "0123456789abcdef0123";

    let missing = [
        (
            "CRYPTOSERVE_MASTER_KEY",
            vec![("JWT_SECRET_KEY", jwt.as_str()), ("HKDF_SALT", salt)],
        ),
        (
            "JWT_SECRET_KEY",
            vec![
                ("CRYPTOSERVE_MASTER_KEY", master.as_str()),
                ("HKDF_SALT", salt),
            ],
        ),
        (
            "HKDF_SALT",
            vec![
                ("CRYPTOSERVE_MASTER_KEY", master.as_str()),
                ("JWT_SECRET_KEY", jwt.as_str()),
            ],
        ),
    ];
    for (name, vars) in missing {
        let (status, stderr, took) = production(dir.path(), &vars);
        assert!(!status.success(), "{name} missing: started anyway");
        assert!(
            took < Duration::from_secs(10),
            "{name} missing: took {took:?}"
        );
        assert!(stderr.contains(name), "{name} not named: {stderr}");
        assert!(
            stderr.contains("cryptoserve keygen"),
            "no keygen hint: {stderr}"
        );
    }
    assert!(!dir.path().join("data").join("master.key").exists());

    for bad in ["Q7Q7-not-a-master-key-CANARY", &"Q7".repeat(32)] {
        let (status, stderr, _) = production(
            dir.path(),
            &[
                ("CRYPTOSERVE_MASTER_KEY", bad),
                ("JWT_SECRET_KEY", &jwt),
                ("HKDF_SALT", salt),
            ],
        );
        assert!(!status.success());
        assert!(stderr.contains("CRYPTOSERVE_MASTER_KEY"), "{stderr}");
        assert!(
            stderr.contains("hexadecimal"),
            "does not say what is wrong: {stderr}"
        );
        assert!(!stderr.contains("Q7Q7"), "echoes the key: {stderr}");
    }
}

#[test]
fn keygen_prints_the_three_documented_variables() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = cryptoserve(dir.path());
    command.arg("keygen");
    let output = run_within(command, Duration::from_secs(20));
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<(&str, &str)> = stdout
        .lines()
        .map(|line| line.split_once('=').unwrap())
        .collect();
    let names: Vec<&str> = lines.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        ["CRYPTOSERVE_MASTER_KEY", "JWT_SECRET_KEY", "HKDF_SALT"]
    );
    let (_, master) = lines[0];
    assert_eq!(master.len(), 64);
    assert!(master.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(lines[1].1.len() >= 32);
    assert!(lines[2].1.len() >= 16);

    // Fresh every time.
    let mut again = cryptoserve(dir.path());
    again.arg("keygen");
    let second = String::from_utf8(run_within(again, Duration::from_secs(20)).stdout).unwrap();
    assert_ne!(stdout, second);
}

#[test]
fn config_show_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = "JWT-CANARY-a8d7f6e5d4c3b2a1-0123456789";
    let master = "c0ffee".repeat(10) + "beef";
    let salt = "SALT-CANARY-55aa55aa";
    let database = "postgres://user:DBPASS-CANARY@127.0.0.1:1/db";
    let mut command = cryptoserve(dir.path());
    command
        .envs([
            ("JWT_SECRET_KEY", jwt),
            (
                "JWT_PREVIOUS_SECRET_KEYS",
                "PREV-CANARY-one-0123456789abcdef0123,PREV-CANARY-two-0123456789abcdef0123",
            ),
            ("CRYPTOSERVE_MASTER_KEY", master.as_str()),
            ("HKDF_SALT", salt),
            ("DATABASE_URL", database),
            ("DB_POOL_SIZE", "7"),
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["config", "show"]);
    let output = run_within(command, Duration::from_secs(20));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for secret in [
        "JWT-CANARY",
        "PREV-CANARY",
        "c0ffeec0ffee",
        "SALT-CANARY",
        "DBPASS-CANARY",
    ] {
        assert!(!stdout.contains(secret), "stdout shows {secret}: {stdout}");
        assert!(!stderr.contains(secret), "stderr shows {secret}: {stderr}");
    }
    assert!(stdout.contains("JWT_SECRET_KEY=[redacted]"), "{stdout}");
    assert!(
        stdout.contains("JWT_PREVIOUS_SECRET_KEYS=[2 redacted]"),
        "{stdout}"
    );
    assert!(stdout.contains("DB_POOL_SIZE=7"), "{stdout}");
}
