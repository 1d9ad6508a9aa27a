//! A throwaway PostgreSQL cluster for tests and fault drills.
//!
//! [`Postgres::start`] runs `initdb` in a fresh temp dir, starts the server with `pg_ctl` on a
//! free loopback port (trust authentication, `fsync=off`) and creates a `cryptoserve` database.
//! The handle can stop and restart the same cluster on the same port so tests can simulate a
//! database outage; dropping it kills the server and removes the temp dir.
//!
//! `initdb` refuses to run as root, so when we are root the temp dir is handed to the
//! `postgres` user and every server-side command goes through `runuser -u postgres --`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tempfile::TempDir;

use crate::{io_err, Result, TestkitError};

/// Where Debian/Ubuntu install PostgreSQL 15; used when `CRYPTOSERVE_PG_BIN` is unset.
const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// How often we retry `pg_ctl start` when the free port was grabbed by someone else meanwhile.
const START_ATTEMPTS: usize = 3;
/// How long a freshly started server may take to accept TCP connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running (or deliberately stopped) PostgreSQL 15 cluster owned by the test.
#[derive(Debug)]
pub struct Postgres {
    /// Holds the data dir, socket dir and log; removed on drop after the server is stopped.
    dir: TempDir,
    /// Directory holding `initdb`, `pg_ctl`, `psql`.
    bin_dir: PathBuf,
    /// The loopback port; kept across `stop`/`start_again` so URLs stay valid.
    port: u16,
    /// True when we are root and must run server commands as the `postgres` user.
    as_postgres_user: bool,
    /// Whether we believe the server is up; `Drop` only stops a running server.
    running: bool,
}

impl Postgres {
    /// Initialises a new cluster, starts it and creates the `cryptoserve` database.
    pub fn start() -> Result<Postgres> {
        let bin_dir = find_bin_dir()?;
        let as_postgres_user = running_as_root()?;
        let dir = tempfile::Builder::new()
            .prefix("cryptoserve-pg-")
            .tempdir()
            .map_err(io_err("creating postgres temp dir"))?;
        if as_postgres_user {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg("postgres:postgres").arg(dir.path());
            run_checked(chown)?;
        }
        let mut server = Postgres {
            dir,
            bin_dir,
            port: 0,
            as_postgres_user,
            running: false,
        };
        server.init_db()?;
        server.start_on_free_port()?;
        server.create_database("cryptoserve")?;
        Ok(server)
    }

    /// URL of the `cryptoserve` database, in the form the store accepts.
    pub fn url(&self) -> String {
        self.database_url("cryptoserve")
    }

    /// The loopback TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates another database on this server so tests can share one cluster but not data.
    /// Returns its URL. Names are limited to `[A-Za-z0-9_]` so they need no quoting rules.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(TestkitError::CommandFailed {
                command: format!("CREATE DATABASE {name}"),
                output: "database names must match [A-Za-z0-9_]{1,63}".to_owned(),
            });
        }
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(self.database_url(name))
    }

    /// Runs one SQL command through `psql` against `database` and returns its stdout
    /// (unaligned, tuples only), so tests can poke at the server without a driver.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String> {
        let mut psql = Command::new(self.bin_dir.join("psql"));
        let port = self.port.to_string();
        // -X: ignore ~/.psqlrc; -qAt: bare values; ON_ERROR_STOP: fail on the first error.
        psql.args([
            "-X",
            "-qAt",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
        ])
        .args(["-U", "postgres", "-d", database, "-c", sql]);
        let output = run_checked(psql)?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Stops the server gracefully (`pg_ctl stop -m fast`), keeping the data for
    /// [`Postgres::start_again`]. Used by fault drills to simulate a database outage.
    pub fn stop(&mut self) -> Result<()> {
        if self.running {
            self.pg_ctl_stop("fast")?;
            self.running = false;
        }
        Ok(())
    }

    /// Starts the stopped server again with the same data dir and port.
    pub fn start_again(&mut self) -> Result<()> {
        if self.running {
            return Ok(());
        }
        self.pg_ctl_start()
    }

    fn database_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// Builds a command for a server-side binary, as `postgres` when we are root.
    fn server_command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        let mut command = if self.as_postgres_user {
            let mut runuser = Command::new("runuser");
            runuser.args(["-u", "postgres", "--"]).arg(binary);
            runuser
        } else {
            Command::new(binary)
        };
        // Our cwd may not be readable by `postgres`; initdb warns and pg_ctl may fail.
        command.current_dir(self.dir.path());
        command
    }

    fn init_db(&self) -> Result<()> {
        let mut initdb = self.server_command("initdb");
        initdb
            .arg("-D")
            .arg(self.data_dir())
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .arg("--locale=C");
        run_checked(initdb).map(|_| ())
    }

    /// Picks a free port and starts; retries with a new port if another process won the race.
    fn start_on_free_port(&mut self) -> Result<()> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            self.port = crate::net::free_port()?;
            match self.pg_ctl_start() {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(port = self.port, %error, "postgres failed to start, retrying");
                    // A half-started postmaster must not linger; ignore "not running".
                    let _ = self.pg_ctl_stop("immediate");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| TestkitError::NotReady("postgres".to_owned())))
    }

    fn pg_ctl_start(&mut self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "30", "-o"])
            .arg(options)
            .arg("start");
        run_checked(pg_ctl).map_err(|error| self.with_log(error))?;
        self.running = true;
        crate::net::wait_for_port(self.port, "postgres", READY_TIMEOUT)?;
        self.wait_until_accepting_queries()
    }

    /// The port opens slightly before the server accepts logins (e.g. after crash recovery).
    fn wait_until_accepting_queries(&self) -> Result<()> {
        let deadline = std::time::Instant::now() + READY_TIMEOUT;
        loop {
            match self.psql("postgres", "SELECT 1") {
                Ok(_) => return Ok(()),
                Err(error) if std::time::Instant::now() >= deadline => {
                    return Err(self.with_log(error))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn pg_ctl_stop(&self, mode: &str) -> Result<()> {
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "30", "-m", mode, "stop"]);
        run_checked(pg_ctl).map(|_| ())
    }

    /// Appends the server log to a failure so CI output says why PostgreSQL did not start.
    fn with_log(&self, error: TestkitError) -> TestkitError {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        TestkitError::CommandFailed {
            command: "pg_ctl start".to_owned(),
            output: format!("{error}\n--- postgres.log ---\n{log}"),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            if let Err(error) = self.pg_ctl_stop("immediate") {
                tracing::warn!(%error, "could not stop test postgres");
            }
        }
    }
}

/// `CRYPTOSERVE_PG_BIN`, then the Debian PostgreSQL 15 location, then whatever `PATH` has.
fn find_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CRYPTOSERVE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let default = Path::new(DEFAULT_BIN_DIR);
    if default.join("initdb").is_file() {
        return Ok(default.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .ok_or_else(|| TestkitError::MissingBinary("initdb".to_owned()))
}

/// Asks `id -u` instead of calling `geteuid` so the crate stays free of `unsafe`.
pub(crate) fn running_as_root() -> Result<bool> {
    let mut id = Command::new("id");
    id.arg("-u");
    let output = run_checked(id)?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Runs a command to completion; a non-zero exit becomes `CommandFailed` with its output.
pub(crate) fn run_checked(mut command: Command) -> Result<Output> {
    let line = format!("{command:?}");
    let output = command.output().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            TestkitError::MissingBinary(command.get_program().to_string_lossy().into_owned())
        } else {
            TestkitError::Io {
                context: format!("running `{line}`"),
                source,
            }
        }
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(TestkitError::CommandFailed {
            command: line,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}
