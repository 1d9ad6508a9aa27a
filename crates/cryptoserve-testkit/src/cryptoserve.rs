//! The real `cryptoserve` binary as a child process: a free loopback port, a fresh data
//! directory (embedded default: SQLite, generated development secrets), an admin token made
//! with the offline `cryptoserve identity create`, killed when dropped. For tests of programs
//! that talk to a server over HTTP (the client crate, the `cs` CLI).
//!
//! [`CryptoServe::start_tls`] serves TLS with certificates from `cryptoserve tls dev-cert`
//! (optionally requiring client certificates); [`CryptoServe::start_with`] takes any
//! [`ServeOptions`]. Readiness is always probed on the plain ops listener
//! (`CRYPTOSERVE_OPS_LISTEN`, its own free port), so probing needs no TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{io_err, net, Result, TestkitError};

/// The binary: `$CRYPTOSERVE_BIN` (scripts/test exports it), else built with cargo into the
/// target directory the running test lives in (a no-op when fresh), once per process.
pub fn binary() -> Result<PathBuf> {
    static BINARY: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| find_or_build().map_err(|error| error.to_string()))
        .clone()
        .map_err(|output| TestkitError::CommandFailed {
            command: "cargo build -p cryptoserve-server".into(),
            output,
        })
}

fn find_or_build() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CRYPTOSERVE_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(io_err("finding the test binary"))?;
    // <target>/<profile>/deps/<test>: the binary goes to <target>/<profile>/cryptoserve.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| TestkitError::NotReady("a target directory above the test".into()))?
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| TestkitError::NotReady("a target directory above the test".into()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "-p", "cryptoserve-server", "--bin", "cryptoserve"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .map_err(io_err("running cargo build"))?;
    if !output.status.success() {
        return Err(TestkitError::CommandFailed {
            command: "cargo build -p cryptoserve-server".into(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(profile_dir.join("cryptoserve"))
}

/// How to start the server beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// TLS files; `None` serves plain HTTP.
    pub tls: Option<ServeTls>,
    /// More environment for `serve` (applied last).
    pub env: Vec<(String, String)>,
}

/// The certificate files the server is started with.
#[derive(Debug, Clone)]
pub struct ServeTls {
    /// `CRYPTOSERVE_TLS_CERT`.
    pub cert: PathBuf,
    /// `CRYPTOSERVE_TLS_KEY`.
    pub key: PathBuf,
    /// `CRYPTOSERVE_TLS_CLIENT_CA` (mutual TLS) when set.
    pub client_ca: Option<PathBuf>,
}

/// A running `cryptoserve serve`.
#[derive(Debug)]
pub struct CryptoServe {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    ops_port: u16,
    /// `http://127.0.0.1:<port>`, or `https://localhost:<port>` over TLS.
    pub address: String,
    /// An admin token (all contexts).
    pub admin_token: String,
}

impl CryptoServe {
    /// Starts a plain-HTTP server and waits until `/health/ready` answers 200.
    pub fn start() -> Result<Self> {
        Self::start_with(ServeOptions::default())
    }

    /// Starts a TLS server with a fresh development CA (`cryptoserve tls dev-cert` into
    /// [`CryptoServe::tls_dir`]); with `mutual`, clients must present a certificate from that
    /// CA (`client.crt`/`client.key` there).
    pub fn start_tls(mutual: bool) -> Result<Self> {
        let dir = tempfile::tempdir().map_err(io_err("creating a temp dir"))?;
        let certs = dir.path().join("tls");
        write_dev_certs(&binary()?, &certs)?;
        let tls = ServeTls {
            cert: certs.join("server.crt"),
            key: certs.join("server.key"),
            client_ca: mutual.then(|| certs.join("ca.crt")),
        };
        Self::start_in(
            dir,
            ServeOptions {
                tls: Some(tls),
                env: Vec::new(),
            },
        )
    }

    /// Starts a server with `options` and waits until `/health/ready` answers 200.
    pub fn start_with(options: ServeOptions) -> Result<Self> {
        let dir = tempfile::tempdir().map_err(io_err("creating a temp dir"))?;
        Self::start_in(dir, options)
    }

    fn start_in(dir: tempfile::TempDir, options: ServeOptions) -> Result<Self> {
        let port = net::free_port()?;
        let ops_port = net::free_port()?;
        // Created before the server starts, so it loads the identity with everything else.
        let output = command_for(dir.path(), port, &["identity", "create", "--name", "tests"])?
            .args(["--role", "admin", "--contexts", "*"])
            .output()
            .map_err(io_err("running cryptoserve identity create"))?;
        if !output.status.success() {
            return Err(TestkitError::CommandFailed {
                command: "cryptoserve identity create".into(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let admin_token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).map_err(io_err("creating the log"))?;
        let log_err = log.try_clone().map_err(io_err("cloning the log"))?;
        let mut serve = command_for(dir.path(), port, &["serve"])?;
        serve.env("CRYPTOSERVE_OPS_LISTEN", format!("127.0.0.1:{ops_port}"));
        if let Some(tls) = &options.tls {
            serve
                .env("CRYPTOSERVE_TLS_CERT", &tls.cert)
                .env("CRYPTOSERVE_TLS_KEY", &tls.key)
                .env("CRYPTOSERVE_TLS_RELOAD_INTERVAL", "1");
            if let Some(ca) = &tls.client_ca {
                serve.env("CRYPTOSERVE_TLS_CLIENT_CA", ca);
            }
        }
        serve.envs(options.env.iter().map(|(k, v)| (k, v)));
        let child = serve
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io_err("spawning cryptoserve serve"))?;
        let mut server = Self {
            child,
            dir,
            port,
            ops_port,
            address: match options.tls {
                Some(_) => format!("https://localhost:{port}"),
                None => format!("http://127.0.0.1:{port}"),
            },
            admin_token,
        };
        server.wait_ready(Duration::from_secs(60))?;
        Ok(server)
    }

    /// The binary with this server's environment (data dir, listen address), for commands
    /// such as `identity create`.
    pub fn command(&self, args: &[&str]) -> Result<Command> {
        command_for(self.dir.path(), self.port, args)
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The plain ops listener's port (`/health/*`, `/metrics`).
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    /// Where [`CryptoServe::start_tls`] keeps the dev-cert files (`ca.crt`, `server.crt`,
    /// `server.key`, `client.crt`, `client.key`).
    pub fn tls_dir(&self) -> PathBuf {
        self.dir.path().join("tls")
    }

    /// The server's PID (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if ready(self.ops_port) {
                return Ok(());
            }
            if let Err(TestkitError::Exited { what, status, .. }) =
                net::ensure_running(&mut self.child, self.port, "cryptoserve")
            {
                return Err(TestkitError::Exited {
                    what,
                    status,
                    log: format!("\n{}", self.log()),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(TestkitError::NotReady(format!(
            "cryptoserve on port {}:\n{}",
            self.port,
            self.log()
        )))
    }
}

fn command_for(dir: &Path, port: u16, args: &[&str]) -> Result<Command> {
    let mut command = Command::new(binary()?);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CRYPTOSERVE_DATA_DIR", dir.join("data"))
        .env("CRYPTOSERVE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CRYPTOSERVE_LOG_FORMAT", "json")
        .env("CRYPTOSERVE_SHUTDOWN_DELAY", "0")
        .args(args)
        .stdin(Stdio::null());
    Ok(command)
}

/// `<server_binary> tls dev-cert --out <dir>`: a development CA (one already in `dir` is
/// kept) with server and client certificates. Used by the local cluster and the benchmarks too.
pub fn write_dev_certs(server_binary: &Path, dir: &Path) -> Result<()> {
    let output = Command::new(server_binary)
        .args(["tls", "dev-cert", "--out"])
        .arg(dir)
        .env_remove("CRYPTOSERVE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("running cryptoserve tls dev-cert"))?;
    if !output.status.success() {
        return Err(TestkitError::CommandFailed {
            command: "cryptoserve tls dev-cert".into(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(())
}

/// `GET /health/ready` answered 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Drop for CryptoServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
