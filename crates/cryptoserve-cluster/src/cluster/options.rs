//! [`ClusterOptions`] and the environment they give every server process.

use std::path::{Path, PathBuf};

use cryptoserve_testkit::postgres::Postgres;

use super::redis::RedisTopology;

/// How to build a cluster. `Default` gives three backends, `cryptoserve` from `PATH` and the
/// current directory as repository root; set at least `server_binary` and `repo_root`.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Backends to start (at least one).
    pub backends: usize,
    /// The `cryptoserve` binary every server process runs.
    pub server_binary: PathBuf,
    /// Repository root; `nginx.scale.conf` is taken from here, unchanged.
    pub repo_root: PathBuf,
    /// Where logs, backend data dirs and `state.json` go. `None`: a temp dir removed on drop.
    pub state_dir: Option<PathBuf>,
    /// nginx's port; `None` picks a free one.
    pub nginx_port: Option<u16>,
    /// `CRYPTOSERVE_SHUTDOWN_DELAY` (s): how long a terminated backend keeps serving while its
    /// readiness answers 503.
    pub shutdown_delay_secs: u32,
    /// `CRYPTOSERVE_SHUTDOWN_TIMEOUT` (s): how long in-flight requests may take to drain.
    pub shutdown_timeout_secs: u32,
    /// `CRYPTOSERVE_WORKERS` per backend; small by default so many backends fit on a laptop.
    pub workers: usize,
    /// `DB_POOL_SIZE` and `DB_MAX_OVERFLOW`, kept small: the test PostgreSQL allows 200
    /// connections and a drill may run five backends plus one-shot commands.
    pub db_pool_size: u32,
    /// See `db_pool_size`.
    pub db_max_overflow: u32,
    /// `RUST_LOG` for the backends.
    pub rust_log: String,
    /// Further environment for every server process (applied after the shared variables and
    /// secrets, so it can override them; the TLS files of `serve` are always the cluster's).
    pub extra_env: Vec<(String, String)>,
    /// Certificates for every hop, in the `cryptoserve tls dev-cert --out` layout (`ca.crt`,
    /// `server.crt`/`.key`, `client.crt`/`.key`). `None`: the cluster runs `dev-cert` into
    /// `<state dir>/tls` (keeping a CA already there).
    pub tls_dir: Option<PathBuf>,
    /// Standalone Redis (default) or a Redis Cluster, with replicas for failover drills.
    pub redis: RedisTopology,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            backends: 3,
            server_binary: PathBuf::from("cryptoserve"),
            repo_root: PathBuf::from("."),
            state_dir: None,
            nginx_port: None,
            shutdown_delay_secs: 2,
            shutdown_timeout_secs: 10,
            workers: 2,
            db_pool_size: 5,
            db_max_overflow: 5,
            rust_log: "info".to_owned(),
            extra_env: Vec::new(),
            tls_dir: None,
            redis: RedisTopology::Standalone,
        }
    }
}

/// The environment every server process of the cluster shares.
pub(super) fn shared_vars(
    options: &ClusterOptions,
    postgres: &Postgres,
    redis_url: String,
    dir: &Path,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("CRYPTOSERVE_ENV", "production".to_owned()),
        ("DATABASE_URL", postgres.url()),
        ("REDIS_URL", redis_url),
        ("CRYPTOSERVE_TRUSTED_PROXIES", "127.0.0.1/32".to_owned()),
        (
            "CRYPTOSERVE_SHUTDOWN_DELAY",
            options.shutdown_delay_secs.to_string(),
        ),
        (
            "CRYPTOSERVE_SHUTDOWN_TIMEOUT",
            options.shutdown_timeout_secs.to_string(),
        ),
        ("CRYPTOSERVE_LOG_FORMAT", "json".to_owned()),
        ("CRYPTOSERVE_WORKERS", options.workers.to_string()),
        ("CRYPTOSERVE_RATE_LIMIT_FAIL_MODE", "open".to_owned()),
        // One-shot commands (migrate, identity create) use this; backends get their own.
        (
            "CRYPTOSERVE_DATA_DIR",
            dir.join("control").display().to_string(),
        ),
        ("DB_POOL_SIZE", options.db_pool_size.to_string()),
        ("DB_MAX_OVERFLOW", options.db_max_overflow.to_string()),
        ("RUST_LOG", options.rust_log.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    vars.extend(options.extra_env.iter().cloned());
    vars
}
