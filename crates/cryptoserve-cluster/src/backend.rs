//! One `cryptoserve serve --no-migrate` child process: its environment, ports, log file and
//! the ways the cluster stops it (SIGKILL as a crash, SIGTERM as a scale-down or deploy).
//!
//! Each backend has two listeners: the main one speaks TLS only and requires a client
//! certificate from the cluster's CA (nginx has one), and a plain ops listener serves only
//! `/health/*` and `/metrics`, which is where readiness is probed.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{io_err, ClusterError, Result};
use crate::secrets::Secrets;
use crate::tls::ClusterTls;
use crate::{probe, process};

/// How long a backend may take from spawn to `/health/ready` = 200 (debug builds on a busy
/// two-core machine are slow to start).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Fresh ports tried when a backend dies at start (another process took the free port).
const START_ATTEMPTS: usize = 3;

/// What every server process of one cluster is started with: the binary and the shared
/// environment (secrets, database, Redis, shutdown and pool settings), plus the certificates
/// that only `serve` needs.
pub(crate) struct ServerEnv {
    /// The `cryptoserve` binary.
    pub binary: PathBuf,
    /// Shared variables, in the order they are set (non-secret, except those a secret
    /// rotation sets through `Cluster::set_server_env`).
    pub vars: Vec<(String, String)>,
    /// Shared secrets, kept apart so `Debug` cannot print them.
    pub secrets: Secrets,
    /// The cluster's certificates. One-shot commands (`migrate`, `identity create`) open no
    /// listener, so only `serve` gets them.
    pub tls: ClusterTls,
}

impl std::fmt::Debug for ServerEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // DATABASE_URL and REDIS_URL carry no password here, but print names only anyway.
        let names: Vec<&str> = self.vars.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ServerEnv")
            .field("binary", &self.binary)
            .field("vars", &names)
            .field("secrets", &"[redacted]")
            .field("tls", &self.tls.dir())
            .finish()
    }
}

impl ServerEnv {
    /// `cryptoserve <args>` with the shared environment; a config file from the caller's
    /// environment is ignored so the cluster is configured by its variables alone. The
    /// variables come after the secrets, so a variable can replace a secret (rotation).
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command.env_remove("CRYPTOSERVE_CONFIG");
        command.envs(self.secrets.env());
        command.envs(self.vars.iter().map(|(name, value)| (name, value)));
        command.stdin(Stdio::null());
        command
    }

    /// Runs a one-shot command (`migrate`, `identity create`) and returns its stdout.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let line = format!("{} {}", self.binary.display(), args.join(" "));
        process::stdout_of(self.command().args(args), line)
    }
}

/// One backend instance of the cluster.
#[derive(Debug)]
pub struct Backend {
    /// Position in the cluster; stable for the cluster's life, never reused.
    index: usize,
    /// Loopback port of its TLS listener; kept across restarts so nginx's list stays valid.
    port: u16,
    /// Loopback port of its plain ops listener (`/health/*`, `/metrics`); kept across
    /// restarts too.
    ops_port: u16,
    /// `stdout` and `stderr` of every run of this backend, appended.
    log_path: PathBuf,
    /// `CRYPTOSERVE_DATA_DIR` of this backend.
    data_dir: PathBuf,
    /// The running process; `None` once it was stopped and reaped.
    child: Option<Child>,
    /// Whether nginx's upstream list includes this backend.
    pub(crate) in_pool: bool,
}

impl Backend {
    /// Starts backend `index` on two free ports with its files under `dir`, and waits until
    /// it is ready.
    pub(crate) fn start(env: &ServerEnv, index: usize, dir: &Path) -> Result<Backend> {
        let data_dir = dir.join(format!("backend-{index}"));
        std::fs::create_dir_all(&data_dir).map_err(io_err("creating a backend data dir"))?;
        let mut backend = Backend {
            index,
            port: 0,
            ops_port: 0,
            log_path: dir.join(format!("backend-{index}.log")),
            data_dir,
            child: None,
            in_pool: false,
        };
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            backend.port = cryptoserve_testkit::net::free_port()?;
            backend.ops_port = cryptoserve_testkit::net::free_port()?;
            match backend.spawn_and_wait(env) {
                Ok(()) => return Ok(backend),
                Err(error) => {
                    tracing::warn!(
                        index,
                        port = backend.port,
                        ops_port = backend.ops_port,
                        %error,
                        "backend failed to start"
                    );
                    let _ = backend.kill();
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or(ClusterError::NoSuchBackend(index)))
    }

    /// Starts the backend again on the same ports (after a kill or terminate).
    pub(crate) fn restart(&mut self, env: &ServerEnv) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        self.child = None;
        self.spawn_and_wait(env)
    }

    fn spawn_and_wait(&mut self, env: &ServerEnv) -> Result<()> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_err(format!("opening {}", self.log_path.display())))?;
        let _ = writeln!(
            log,
            "--- cryptoserve-cluster: starting backend {} on 127.0.0.1:{} (ops 127.0.0.1:{}) ---",
            self.index, self.port, self.ops_port
        );
        let stderr = log
            .try_clone()
            .map_err(io_err("duplicating a log handle"))?;
        let child = env
            .command()
            .args(["serve", "--no-migrate"])
            .env("CRYPTOSERVE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env(
                "CRYPTOSERVE_OPS_LISTEN",
                format!("127.0.0.1:{}", self.ops_port),
            )
            .envs(env.tls.serve_env())
            .env("CRYPTOSERVE_INSTANCE_ID", format!("backend-{}", self.index))
            .env("CRYPTOSERVE_DATA_DIR", &self.data_dir)
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(io_err(format!("spawning {}", env.binary.display())))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Polls `/health/ready` on the ops listener until it answers 200; fails early if the
    /// process exits.
    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(self.not_ready(format!("exited with {status}")));
                }
            }
            let ready = probe::get(self.ops_port, "/health/ready", Duration::from_secs(1));
            if ready.is_some_and(|response| response.status == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(self.not_ready(format!("no 200 from /health/ready in {READY_TIMEOUT:?}")))
    }

    fn not_ready(&self, what: String) -> ClusterError {
        ClusterError::BackendNotReady {
            index: self.index,
            detail: format!(
                "{what}; end of {}:\n{}",
                self.log_path.display(),
                self.log_tail(3000)
            ),
        }
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub(crate) fn kill(&mut self) -> Result<Option<ExitStatus>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        // Fails only when it already exited; `wait` still reaps it.
        let _ = child.kill();
        let status = child
            .wait()
            .map_err(io_err("waiting for a killed backend"))?;
        Ok(Some(status))
    }

    /// Sends SIGTERM and waits up to `timeout` for the drain to finish; SIGKILL after that.
    pub(crate) fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            return Err(ClusterError::Invalid(format!(
                "backend {} is not running",
                self.index
            )));
        };
        process::send_signal(child.id(), "TERM")?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().map_err(io_err("waiting for a backend"))? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    index = self.index,
                    "backend did not drain in time; killing it"
                );
                let _ = child.kill();
                return child.wait().map_err(io_err("waiting for a killed backend"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Position of this backend in the cluster.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its TLS port (client certificate required).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:<port>`: the API, directly; needs the cluster's CA and its client
    /// certificate ([`crate::Cluster::client_cert_path`]).
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Its plain ops port: `/health/*` and `/metrics`, no TLS.
    pub fn ops_port(&self) -> u16 {
        self.ops_port
    }

    /// `http://127.0.0.1:<ops port>`.
    pub fn ops_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ops_port)
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive (an exited but not yet reaped one counts as stopped).
    pub fn is_running(&self) -> bool {
        self.pid().is_some_and(process::is_alive)
    }

    /// Whether nginx currently sends traffic to it.
    pub fn in_pool(&self) -> bool {
        self.in_pool
    }

    /// Its log file (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `bytes` of its log, for error messages.
    pub fn log_tail(&self, bytes: usize) -> String {
        let log = std::fs::read(&self.log_path).unwrap_or_default();
        let start = log.len().saturating_sub(bytes);
        String::from_utf8_lossy(log.get(start..).unwrap_or_default()).into_owned()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            tracing::warn!(index = self.index, %error, "could not kill a backend");
        }
    }
}
