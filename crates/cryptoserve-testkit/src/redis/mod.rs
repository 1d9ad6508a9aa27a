//! `redis-server` for tests: a standalone server ([`RedisServer`], here) and a Redis Cluster
//! ([`RedisCluster`], `cluster.rs`: masters, optionally with replicas, and the failover
//! helpers the drills use; `nodes.rs`: parsing `CLUSTER NODES`), each on free loopback ports
//! with its files in a temp dir, killed on drop.
//!
//! Persistence is off (`--save "" --appendonly no`), so a [`RedisServer::restart`] comes back
//! empty, exactly like a crashed cache node: no keys and no cached Lua scripts.
//! Readiness and cluster health are checked with `redis-cli`, which is installed alongside
//! `redis-server`.

mod cluster;
mod nodes;

pub use cluster::{RedisCluster, RedisClusterOptions, FAILOVER_NODE_TIMEOUT};
pub use nodes::ClusterNode;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::net::{ensure_running, free_port, wait_for_child_port};
use crate::{io_err, Result, TestkitError};

/// How long a server (or a whole cluster) may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How many times a server that exits during start-up is started again on new ports.
const START_ATTEMPTS: usize = 4;

/// How long one readiness `PING` may take.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// How many lines of `redis.log` an error carries.
const LOG_TAIL_LINES: usize = 20;

/// Knobs for [`RedisServer::start_with`].
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// Sets `--requirepass`, so tests can check that AUTH in the URL works and a wrong one fails.
    pub password: Option<String>,
    /// Extra `redis-server` arguments, for anything the fields above do not cover.
    pub extra_args: Vec<String>,
}

/// A standalone `redis-server` on 127.0.0.1; killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    options: RedisOptions,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server without a password.
    pub fn start() -> Result<Self> {
        Self::start_with(RedisOptions::default())
    }

    /// Starts a server with `options` and waits until it answers `PING`. If it exits before
    /// that (another process took the port between [`free_port`] and its bind), it is started
    /// again on a new port.
    pub fn start_with(options: RedisOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cryptoserve-redis-")
            .tempdir()
            .map_err(io_err("creating redis temp dir"))?;
        let mut server = Self {
            port: 0,
            options,
            dir,
            child: None,
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            server.port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(error @ TestkitError::Exited { .. }) if attempts < START_ATTEMPTS => {
                    tracing::warn!(port = server.port, %error, "redis-server exited, retrying");
                    // It has exited already; this only reaps it.
                    let _ = server.kill();
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The URL a client uses, with the password in it when one is set.
    pub fn url(&self) -> String {
        match &self.options.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's working directory; `redis.log` there explains a failed start.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to exit.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().map_err(io_err("killing redis-server"))?;
            child.wait().map_err(io_err("waiting for redis-server"))?;
        }
        Ok(())
    }

    /// Starts the server again on the same port (killing it first if it still runs). It comes
    /// back empty: no keys, no scripts.
    pub fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.spawn()
    }

    fn spawn(&mut self) -> Result<()> {
        let mut args = base_args(self.port, self.dir.path());
        if let Some(password) = &self.options.password {
            args.push("--requirepass".into());
            args.push(password.clone());
        }
        args.extend(self.options.extra_args.iter().cloned());
        let child = self.child.insert(spawn_redis(&args, self.dir.path())?);
        wait_ready(
            child,
            self.port,
            self.options.password.as_deref(),
            "redis-server",
        )
        .map_err(|error| with_log(error, self.dir.path()))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            tracing::warn!(%error, "could not kill redis-server");
        }
    }
}

fn base_args(port: u16, dir: &Path) -> Vec<String> {
    let port = port.to_string();
    let log = dir.join("redis.log").display().to_string();
    let dir = dir.display().to_string();
    #[rustfmt::skip]
    let args = [
        "--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", &dir, "--logfile", &log,
    ];
    args.map(String::from).to_vec()
}

fn spawn_redis(args: &[String], dir: &Path) -> Result<Child> {
    Command::new("redis-server")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(spawn_err("redis-server"))
}

fn spawn_err(binary: &'static str) -> impl FnOnce(std::io::Error) -> TestkitError {
    move |source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            TestkitError::MissingBinary(binary.into())
        } else {
            TestkitError::Io {
                context: format!("spawning {binary}"),
                source,
            }
        }
    }
}

/// Runs one `redis-cli` command against `127.0.0.1:port` and returns its stdout.
fn redis_cli(port: u16, password: Option<&str>, command: &[&str]) -> Result<String> {
    let mut cli = Command::new("redis-cli");
    cli.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(password) = password {
        cli.args(["-a", password, "--no-auth-warning"]);
    }
    let output = cli
        .args(command)
        .stdin(Stdio::null())
        .output()
        .map_err(spawn_err("redis-cli"))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn combined(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Waits until the server we spawned answers `PING`, failing fast with
/// [`TestkitError::Exited`] if it exits first. Redis binds its client port before its cluster
/// bus port, so a node whose bus port was taken opens the client port and then exits: the
/// port alone does not prove the server is up.
fn wait_ready(child: &mut Child, port: u16, password: Option<&str>, what: &str) -> Result<()> {
    wait_for_child_port(child, port, what, READY_TIMEOUT)?;
    wait_until(
        READY_TIMEOUT,
        &format!("{what} PING on port {port}"),
        || {
            ensure_running(child, port, what)?;
            Ok(answers_ping(port, password))
        },
    )
}

/// Sends `AUTH` (when a password is set) and `PING` over one connection and reports whether
/// `+PONG` came back within a second. Unlike `redis-cli`, it cannot hang on a port held by
/// something that accepts connections but never answers.
fn answers_ping(port: u16, password: Option<&str>) -> bool {
    use std::io::{Read, Write};

    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, PING_TIMEOUT) else {
        return false;
    };
    if stream.set_read_timeout(Some(PING_TIMEOUT)).is_err() {
        return false;
    }
    let mut request = Vec::new();
    if let Some(password) = password {
        request.extend_from_slice(b"*2\r\n$4\r\nAUTH\r\n");
        request.extend_from_slice(format!("${}\r\n{password}\r\n", password.len()).as_bytes());
    }
    request.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    if stream.write_all(&request).is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut buffer = [0_u8; 256];
    while reply.len() < 4096 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(read) => reply.extend_from_slice(&buffer[..read]),
        }
        if reply.windows(7).any(|w| w == b"+PONG\r\n") {
            return true;
        }
        if reply.starts_with(b"-") && reply.ends_with(b"\r\n") {
            return false;
        }
    }
    false
}

/// Adds the tail of `dir/redis.log` to a start-up error, so a CI failure says why.
fn with_log(error: TestkitError, dir: &Path) -> TestkitError {
    let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
    if tail.is_empty() {
        return error;
    }
    match error {
        TestkitError::Exited { what, status, .. } => TestkitError::Exited {
            what,
            status,
            log: format!("; redis.log ends with:\n{tail}"),
        },
        TestkitError::NotReady(what) => {
            TestkitError::NotReady(format!("{what}; redis.log ends with:\n{tail}"))
        }
        other => other,
    }
}

/// Polls `ready` until it returns `Ok(true)` or `timeout` passes.
fn wait_until(
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(TestkitError::NotReady(what.into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A server whose port is taken exits; the start-up wait reports that, with the reason
    /// from its log, instead of waiting out the timeout for a port that never opens.
    #[test]
    fn a_server_that_cannot_bind_is_reported_as_exited_with_its_log() {
        // Bound but not listening: Redis cannot bind the port, and nothing answers on it.
        let taken =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        taken.bind(&addr.into()).unwrap();
        let port = taken.local_addr().unwrap().as_socket().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = spawn_redis(&base_args(port, dir.path()), dir.path()).unwrap();
        let error = wait_ready(&mut child, port, None, "redis-server")
            .map_err(|error| with_log(error, dir.path()))
            .unwrap_err();
        match error {
            TestkitError::Exited { what, log, .. } => {
                assert!(what.contains(&port.to_string()), "{what}");
                assert!(log.contains("already in use"), "{log}");
            }
            other => panic!("expected Exited, got {other}"),
        }
    }

    /// Ports handed out in one process are never handed out again, so the servers of one test
    /// binary cannot be given the same port.
    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ports: Vec<u16> = (0..200).map(|_| free_port().unwrap()).collect();
        let unique: std::collections::HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
    }
}
