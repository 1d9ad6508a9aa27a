//! PgBouncer in transaction mode in front of a test [`Postgres`], as the production playbooks
//! deploy it: Debian's `pgbouncer` (1.18, which knows nothing of prepared statements in
//! transaction mode), trust authentication, every database forwarded (`* = ...`), and a small
//! server pool, so concurrent clients really do share server connections between
//! transactions and anything that leans on session state breaks here as it would in
//! production.
//!
//! PgBouncer refuses to run as root, so when we are root it runs as the `postgres` user (the
//! uid is set on the child directly, without a wrapper process, so killing the child kills
//! PgBouncer). Killed when dropped.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::net::{free_port, wait_for_child_port};
use crate::postgres::{run_checked, running_as_root, Postgres};
use crate::{io_err, Result, TestkitError};

/// How long PgBouncer may take to open its port.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Starts retried on a new port when another process took the free one first.
const START_ATTEMPTS: usize = 3;
/// Where Debian installs it; `PATH` is searched when it is not there.
const DEFAULT_BINARY: &str = "/usr/sbin/pgbouncer";

/// Knobs for [`PgBouncer::start_with`].
#[derive(Debug, Clone)]
pub struct PgBouncerOptions {
    /// `default_pool_size`: server connections per database/user pair. Small by default so
    /// that client connections outnumber server connections and share them.
    pub pool_size: u32,
    /// `query_wait_timeout` in seconds: how long a client waits for a server connection.
    pub query_wait_timeout_secs: u32,
}

impl Default for PgBouncerOptions {
    fn default() -> Self {
        Self {
            pool_size: 3,
            query_wait_timeout_secs: 30,
        }
    }
}

/// A running `pgbouncer` in transaction pooling mode on 127.0.0.1.
#[derive(Debug)]
pub struct PgBouncer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl PgBouncer {
    /// Starts PgBouncer in front of `postgres` with the default options.
    pub fn start(postgres: &Postgres) -> Result<Self> {
        Self::start_with(postgres, PgBouncerOptions::default())
    }

    /// Starts PgBouncer in front of `postgres` and waits until it accepts connections.
    pub fn start_with(postgres: &Postgres, options: PgBouncerOptions) -> Result<Self> {
        let binary = find_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("cryptoserve-pgbouncer-")
            .tempdir()
            .map_err(io_err("creating pgbouncer temp dir"))?;
        let owner = if running_as_root()? {
            Some(postgres_ids()?)
        } else {
            None
        };
        let mut bouncer = Self {
            port: 0,
            dir,
            child: None,
        };
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            bouncer.port = free_port()?;
            bouncer.write_config(postgres.port(), &options)?;
            if let Some((uid, _)) = owner {
                let mut chown = Command::new("chown");
                chown.arg("-R").arg(uid.to_string()).arg(bouncer.dir.path());
                run_checked(chown)?;
            }
            match bouncer.spawn(&binary, owner) {
                Ok(()) => return Ok(bouncer),
                Err(error) => {
                    tracing::warn!(port = bouncer.port, %error, "pgbouncer failed to start");
                    let _ = bouncer.kill();
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| TestkitError::NotReady("pgbouncer".to_owned())))
    }

    /// The URL of `database` through PgBouncer, with `pgbouncer=true` so CryptoServe knows
    /// not to rely on session state.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?pgbouncer=true",
            self.port
        )
    }

    /// The same URL without `pgbouncer=true`: what a user who did not read the docs writes.
    pub fn url_without_flag(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The port PgBouncer listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `pgbouncer.log`, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }

    /// The configuration file it runs with (what the docs tell operators to write).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("pgbouncer.ini")
    }

    /// Kills PgBouncer and waits for it.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().map_err(io_err("killing pgbouncer"))?;
            child.wait().map_err(io_err("waiting for pgbouncer"))?;
        }
        Ok(())
    }

    fn write_config(&self, postgres_port: u16, options: &PgBouncerOptions) -> Result<()> {
        let dir = self.dir.path();
        std::fs::write(dir.join("userlist.txt"), "\"postgres\" \"\"\n")
            .map_err(io_err("writing pgbouncer userlist"))?;
        let config = config_text(dir, self.port, postgres_port, options);
        std::fs::write(self.config_path(), config).map_err(io_err("writing pgbouncer.ini"))
    }

    fn spawn(&mut self, binary: &Path, owner: Option<(u32, u32)>) -> Result<()> {
        let mut command = Command::new(binary);
        command
            .arg(self.config_path())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = owner {
            command.uid(uid).gid(gid);
        }
        let child = self
            .child
            .insert(command.spawn().map_err(io_err("spawning pgbouncer"))?);
        wait_for_child_port(child, self.port, "pgbouncer", READY_TIMEOUT).map_err(|error| {
            match error {
                TestkitError::Exited { what, status, .. } => TestkitError::Exited {
                    what,
                    status,
                    log: format!("\n{}", self.log()),
                },
                other => other,
            }
        })
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            tracing::warn!(%error, "could not kill pgbouncer");
        }
    }
}

/// The configuration `docs/operations/pgbouncer.md` recommends, on test ports and paths.
fn config_text(dir: &Path, port: u16, postgres_port: u16, options: &PgBouncerOptions) -> String {
    let dir = dir.display();
    format!(
        "[databases]\n\
         * = host=127.0.0.1 port={postgres_port}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = trust\n\
         auth_file = {dir}/userlist.txt\n\
         pool_mode = transaction\n\
         default_pool_size = {pool_size}\n\
         max_client_conn = 1000\n\
         ignore_startup_parameters = extra_float_digits\n\
         query_wait_timeout = {wait}\n\
         server_login_retry = 1\n\
         logfile = {dir}/pgbouncer.log\n\
         pidfile = {dir}/pgbouncer.pid\n",
        pool_size = options.pool_size,
        wait = options.query_wait_timeout_secs,
    )
}

fn find_binary() -> Result<PathBuf> {
    let default = Path::new(DEFAULT_BINARY);
    if default.is_file() {
        return Ok(default.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| TestkitError::MissingBinary("pgbouncer".to_owned()))
}

/// The `postgres` user's uid and gid, from `id` (no `unsafe` libc calls).
fn postgres_ids() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let mut command = Command::new("id");
        command.args([flag, "postgres"]);
        let output = run_checked(command)?;
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim()
            .parse()
            .map_err(|_| TestkitError::CommandFailed {
                command: format!("id {flag} postgres"),
                output: text.into_owned(),
            })
    };
    Ok((id("-u")?, id("-g")?))
}
