//! Real servers for tests: PostgreSQL (`initdb` + `pg_ctl` in a temp dir), `redis-server`
//! (standalone, and a cluster of masters with optional replicas) and `nginx`, each on a free
//! loopback port and stopped when its handle is dropped.
//!
//! Layout:
//! - `cryptoserve.rs`: the real `cryptoserve` binary as a child process, with an admin token.
//! - `exactness.rs`: the ±2 % admission bound rate-limit exactness tests hold counts to.
//! - `net.rs`: free-port allocation and waiting for a port to accept connections.
//! - `metrics.rs`: reading Prometheus `/metrics` text.
//! - `postgres.rs`: a throwaway PostgreSQL cluster (runs as the `postgres` user when we are root,
//!   because `initdb` refuses to run as root).
//! - `pgbouncer.rs`: PgBouncer in transaction mode in front of a test PostgreSQL.
//! - `redis/`: `redis-server` standalone (`redis/mod.rs`) and cluster mode (`redis/cluster.rs`:
//!   masters and replicas, killing a master and waiting for its replica's promotion).
//! - `nginx.rs`: an nginx master process running the repository's `nginx.scale.conf` with TLS
//!   on both sides (`nginx/layout.rs`: its prefix dir and invocation; `nginx/tls.rs`: its
//!   certificates and the HTTPS readiness probe).
#![forbid(unsafe_code)]

pub mod cryptoserve;
pub mod exactness;
pub mod metrics;
pub mod net;
pub mod nginx;
pub mod pgbouncer;
pub mod postgres;
pub mod redis;

/// Everything that can go wrong while starting a test server.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A binary we need is not installed.
    #[error("`{0}` not found; run scripts/test (it installs missing packages) or install it")]
    MissingBinary(String),
    /// A process could not be spawned or its files could not be written.
    #[error("i/o error while {context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A server started but never became ready.
    #[error("{0} did not become ready in time")]
    NotReady(String),
    /// A server we spawned exited before it became ready.
    #[error("{what} exited ({status}) before it became ready{log}")]
    Exited {
        /// Which server, on which port.
        what: String,
        /// How it exited.
        status: String,
        /// The tail of its log, prefixed with a newline, or empty.
        log: String,
    },
    /// A TLS file could not be used (a CA file without certificates, say).
    #[error("TLS file {}: {reason}", path.display())]
    Tls {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A helper command exited unsuccessfully.
    #[error("`{command}` failed: {output}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its combined output.
        output: String,
    },
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, TestkitError>;

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestkitError {
    let context = context.into();
    move |source| TestkitError::Io { context, source }
}
