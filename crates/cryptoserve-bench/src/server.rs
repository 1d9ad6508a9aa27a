//! One embedded `cryptoserve serve`: started with an empty environment (only `PATH`, plus
//! whatever the setup adds, such as `REDIS_URL`), its data dir and log in the caller's temp
//! dir, and killed when dropped.
//!
//! With a TLS dir (`cryptoserve tls dev-cert` layout) the listener speaks TLS only, without
//! client certificates, and a plain ops listener on a second port answers the readiness
//! probe; without one it serves plain HTTP, the development default.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cryptoserve_cluster::probe;

use crate::error::{io_err, BenchError, Result};

/// How long a release build may take to answer `/health/ready` with 200.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Readiness poll interval; small, because start-to-ready is one of the figures.
const POLL_EVERY: Duration = Duration::from_millis(2);

/// A running embedded server.
#[derive(Debug)]
pub struct EmbeddedServer {
    binary: PathBuf,
    data_dir: PathBuf,
    env: Vec<(String, String)>,
    port: u16,
    /// Whether the listener speaks TLS.
    tls: bool,
    child: Child,
}

impl EmbeddedServer {
    /// Spawns the server and waits for `/health/ready` = 200; also returns spawn-to-ready.
    /// `tls_dir`: serve TLS with its `server.crt`/`server.key`.
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        env: &[(String, String)],
        tls_dir: Option<&Path>,
    ) -> Result<(EmbeddedServer, Duration)> {
        std::fs::create_dir_all(data_dir).map_err(io_err("creating the data dir"))?;
        let port = cryptoserve_testkit::net::free_port()?;
        // The readiness probe speaks plain HTTP: a TLS server answers it on its ops listener.
        let mut probe_port = port;
        let mut serve_env = Vec::new();
        if let Some(dir) = tls_dir {
            probe_port = cryptoserve_testkit::net::free_port()?;
            serve_env = vec![
                ("CRYPTOSERVE_TLS_CERT", dir.join("server.crt")),
                ("CRYPTOSERVE_TLS_KEY", dir.join("server.key")),
                (
                    "CRYPTOSERVE_OPS_LISTEN",
                    format!("127.0.0.1:{probe_port}").into(),
                ),
            ];
        }
        let log_path = data_dir.join("server.log");
        let log = std::fs::File::create(&log_path).map_err(io_err("creating server.log"))?;
        let log_err = log.try_clone().map_err(io_err("duplicating server.log"))?;
        let started = Instant::now();
        let child = base_command(binary, data_dir, env)
            .envs(serve_env)
            .args(["--listen", &format!("127.0.0.1:{port}"), "serve"])
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io_err(format!("spawning {}", binary.display())))?;
        let mut server = EmbeddedServer {
            binary: binary.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            env: env.to_vec(),
            port,
            tls: tls_dir.is_some(),
            child,
        };
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(BenchError::Server(format!(
                    "exited with {status} before it was ready; see {}",
                    log_path.display()
                )));
            }
            let ready = probe::get(probe_port, "/health/ready", Duration::from_secs(1));
            if ready.is_some_and(|response| response.status == 200) {
                return Ok((server, started.elapsed()));
            }
            std::thread::sleep(POLL_EVERY);
        }
        Err(BenchError::Server(format!(
            "no 200 from /health/ready in {READY_TIMEOUT:?}; see {}",
            log_path.display()
        )))
    }

    /// `cryptoserve --data-dir D identity create --name bench --role admin`: the admin token.
    pub fn create_admin_token(&self) -> Result<String> {
        let output = base_command(&self.binary, &self.data_dir, &self.env)
            .args(["identity", "create", "--name", "bench", "--role", "admin"])
            .output()
            .map_err(io_err("running identity create"))?;
        let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || token.is_empty() {
            return Err(BenchError::Server(format!(
                "identity create failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(token)
    }

    /// `http://127.0.0.1:<port>`, or `https://` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        // SIGKILL: the data dir is thrown away, so a graceful drain (5 s by default) buys
        // nothing here. `kill` fails only if it already exited; `wait` reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cryptoserve --data-dir D` with only `PATH` from our environment, JSON logs, plus `env`.
fn base_command(binary: &Path, data_dir: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(binary);
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    // The production log format: every figure is taken with JSON lines and the access line on.
    command.env("CRYPTOSERVE_LOG_FORMAT", "json");
    command.envs(env.iter().map(|(name, value)| (name, value)));
    command.arg("--data-dir").arg(data_dir).stdin(Stdio::null());
    command
}
