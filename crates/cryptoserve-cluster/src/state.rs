//! The state file (`state.json` in the state dir): what `up` started, so that `down` can stop
//! it by PID when the `up` process was backgrounded, lost its terminal, or was killed.
//!
//! `down` first asks the `up` process to tear down (SIGTERM, the same as Ctrl-C); only what is
//! still alive after that is signalled directly, and only if its command line still names the
//! program we started (a PID from an old file may belong to something else by now).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{io_err, ClusterError, Result};
use crate::process;

/// File name inside the state dir.
pub const STATE_FILE: &str = "state.json";

/// A process we started and the temp dir it lives in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Its PID (the master / postmaster for nginx and PostgreSQL).
    pub pid: Option<u32>,
    /// Its working or prefix dir; removed by `down` when the launcher could not clean up.
    pub dir: PathBuf,
}

/// One backend as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendRecord {
    /// Index in the cluster.
    pub index: usize,
    /// Direct URL (bypassing nginx): `https://`, client certificate required.
    pub url: String,
    /// Its plain ops port (`/health/*`, `/metrics`); 0 in state files written before it
    /// existed.
    #[serde(default)]
    pub ops_port: u16,
    /// PID while running.
    pub pid: Option<u32>,
    /// Whether nginx sends it traffic.
    pub in_pool: bool,
    /// Its log file.
    pub log: PathBuf,
}

/// Everything `down` and a curious operator need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    /// The `cryptoserve-cluster up` process (or test) that owns the cluster.
    pub launcher_pid: u32,
    /// nginx's URL: the cluster's front door (`https://`).
    pub url: String,
    /// Admin bearer token (the file is written with mode 0600).
    pub admin_token: String,
    /// `DATABASE_URL` the backends use.
    pub database_url: String,
    /// `REDIS_URL` the backends use.
    pub redis_url: String,
    /// The CA certificate clients trust (`curl --cacert`, `CRYPTOSERVE_CACERT`); empty in
    /// state files written before TLS.
    #[serde(default)]
    pub ca_cert: PathBuf,
    /// nginx master.
    pub nginx: ProcessRecord,
    /// redis-server; for a Redis Cluster, its temp dir without a PID (see `redis_nodes`).
    pub redis: ProcessRecord,
    /// The nodes of a Redis Cluster (empty for standalone Redis and in older state files).
    #[serde(default)]
    pub redis_nodes: Vec<ProcessRecord>,
    /// PostgreSQL postmaster.
    pub postgres: ProcessRecord,
    /// Every backend the cluster ever started.
    pub backends: Vec<BackendRecord>,
}

impl ClusterState {
    /// Writes `state.json` into `dir` (via rename, mode 0600: it holds the admin token).
    pub fn write(&self, dir: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let json = serde_json::to_string_pretty(self)
            .map_err(|error| ClusterError::Invalid(format!("serialising state: {error}")))?;
        let staging = dir.join(format!("{STATE_FILE}.new"));
        std::fs::write(&staging, json).map_err(io_err(format!("writing {}", staging.display())))?;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("chmod 600 on the state file"))?;
        std::fs::rename(&staging, dir.join(STATE_FILE)).map_err(io_err("renaming the state file"))
    }

    /// Reads `state.json` from `dir`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> Result<Option<ClusterState>> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_err(format!("reading {}", path.display()))(error)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| ClusterError::Invalid(format!("{}: {error}", path.display())))
    }

    /// Whether the owning `up` process still runs.
    pub fn launcher_alive(&self) -> bool {
        self.launcher_pid != std::process::id() && process::is_alive(self.launcher_pid)
    }
}

/// Stops the cluster recorded in `dir`: SIGTERM to the launcher and up to `grace` for its
/// orderly teardown, then signals to whatever still runs, then removes leftover temp dirs and
/// the state file. Returns one line per action, for the operator.
pub fn stop_by_pid(dir: &Path, grace: Duration) -> Result<Vec<String>> {
    let Some(state) = ClusterState::read(dir)? else {
        return Ok(vec![format!(
            "no {STATE_FILE} in {}: nothing to stop",
            dir.display()
        )]);
    };
    let mut report = Vec::new();
    if state.launcher_alive() {
        process::send_signal(state.launcher_pid, "TERM")?;
        let gone = process::wait_for_exit(state.launcher_pid, grace);
        report.push(format!(
            "launcher {}: SIGTERM, {}",
            state.launcher_pid,
            if gone {
                "exited"
            } else {
                "still running after the grace period"
            }
        ));
    }
    for backend in &state.backends {
        stop_leftover(&mut report, "backend", backend.pid, "cryptoserve", "KILL");
    }
    // nginx: TERM is a fast shutdown of master and workers. PostgreSQL: INT is a fast shutdown.
    stop_leftover(&mut report, "nginx", state.nginx.pid, "nginx", "TERM");
    stop_leftover(
        &mut report,
        "redis",
        state.redis.pid,
        "redis-server",
        "KILL",
    );
    for node in &state.redis_nodes {
        stop_leftover(&mut report, "redis node", node.pid, "redis-server", "KILL");
    }
    stop_leftover(
        &mut report,
        "postgres",
        state.postgres.pid,
        "postgres",
        "INT",
    );
    for record in [&state.nginx, &state.redis, &state.postgres] {
        remove_leftover_dir(&mut report, &record.dir);
    }
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
    report.push(format!("removed {}", dir.join(STATE_FILE).display()));
    Ok(report)
}

fn stop_leftover(
    report: &mut Vec<String>,
    what: &str,
    pid: Option<u32>,
    needle: &str,
    signal: &str,
) {
    let Some(pid) = pid else { return };
    if !process::is_alive_running(pid, needle) {
        return;
    }
    let outcome = match process::send_signal(pid, signal) {
        Ok(()) if process::wait_for_exit(pid, Duration::from_secs(15)) => "stopped".to_owned(),
        Ok(()) => "did not exit".to_owned(),
        Err(error) => error.to_string(),
    };
    report.push(format!("{what} {pid}: SIG{signal}, {outcome}"));
}

/// Removes a testkit temp dir the launcher could not clean up; only `cryptoserve-*` dirs in
/// the system temp dir, so a corrupted state file cannot make us delete anything else.
fn remove_leftover_dir(report: &mut Vec<String>, dir: &Path) {
    let in_temp = dir.parent() == Some(std::env::temp_dir().as_path());
    let ours = dir
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("cryptoserve-"));
    if in_temp && ours && dir.exists() && std::fs::remove_dir_all(dir).is_ok() {
        report.push(format!("removed {}", dir.display()));
    }
}
