//! A real `cryptoserve serve` on a free loopback port with a fresh data directory, an admin
//! token for it, and small fake servers for the failure cases a real one cannot produce on
//! demand.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoserve_client::api::{PolicyBody, RateLimitDimension};
use cryptoserve_client::{Client, ClientBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `cryptoserve` binary: `$CRYPTOSERVE_BIN` (scripts/test exports it), else built into
/// the target directory this test runs from (a no-op when fresh), once per test run.
fn server_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(find_or_build_binary).clone()
}

fn find_or_build_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CRYPTOSERVE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let target_dir = profile_dir.parent().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "cryptoserve-server", "--bin", "cryptoserve"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .status()
        .unwrap();
    assert!(status.success(), "building cryptoserve failed: {status}");
    profile_dir.join("cryptoserve")
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    _dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An admin token for it.
    pub admin_token: String,
}

impl Server {
    /// Starts a server, waits until it is ready, and raises the default rate limits so the
    /// tests' bursts are not refused (the tests that want 429 set their own).
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = cryptoserve_testkit::net::free_port().unwrap();
        let binary = server_binary();
        let command = |args: &[&str]| {
            let mut command = Command::new(&binary);
            command
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("CRYPTOSERVE_DATA_DIR", dir.path().join("data"))
                .env("CRYPTOSERVE_LISTEN", format!("127.0.0.1:{port}"))
                .env("CRYPTOSERVE_LOG_FORMAT", "json")
                .env("CRYPTOSERVE_SHUTDOWN_DELAY", "0")
                .args(args)
                .stdin(Stdio::null());
            command
        };
        // Created first, so the server loads it with everything else.
        let output = command(&["identity", "create", "--name", "tests", "--role", "admin"])
            .args(["--contexts", "*"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "identity create: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let admin_token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = command(&["serve"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Server {
            child,
            _dir: dir,
            address: format!("http://127.0.0.1:{port}"),
            admin_token,
        };
        server.wait_ready().await;
        let admin = server.client();
        for dimension in RateLimitDimension::ALL {
            admin
                .set_rate_limit_default(*dimension, PolicyBody::new(600_000, 10_000))
                .await
                .unwrap();
        }
        server
    }

    async fn wait_ready(&self) {
        let probe = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let url = format!("{}/health/ready", self.address);
            if let Ok(response) = probe.get(url).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default();
        panic!("cryptoserve did not become ready:\n{log}");
    }

    /// A builder that knows only this server and the admin token (no environment, no files).
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .ignore_environment()
            .address(&self.address)
            .token(&self.admin_token)
    }

    /// An admin client.
    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on.
pub fn dead_address() -> String {
    let port = cryptoserve_testkit::net::free_port().unwrap();
    format!("http://127.0.0.1:{port}")
}

/// How a fake server treats each connection.
#[derive(Clone, Copy, Debug)]
pub enum Fake {
    /// Reads the request and answers 503 in CryptoServe's error shape.
    Unavailable,
    /// Reads the request and closes the connection without answering.
    HangUp,
}

/// A fake server on loopback; counts the requests it read.
pub struct FakeServer {
    pub address: String,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(behaviour: Fake) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    if read_request(&mut stream).await {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    if let Fake::Unavailable = behaviour {
                        let body = r#"{"error":{"code":"service_unavailable","message":"draining","request_id":"fake-1"}}"#;
                        let reply = format!(
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
                             X-Request-ID: fake-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(reply.as_bytes()).await;
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
        FakeServer {
            address,
            requests,
            task,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request's head and its `Content-Length` body; false if the peer went away.
async fn read_request(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(read) = stream.read(&mut chunk).await else {
            return false;
        };
        if read == 0 {
            return false;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            return true;
        }
    }
}
