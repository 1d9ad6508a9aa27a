//! [`Cluster`]: PostgreSQL, Redis, N backends and nginx, started in dependency order and torn
//! down when dropped. `options.rs` holds [`ClusterOptions`] and the shared environment;
//! `redis.rs` the Redis topology (standalone or a Redis Cluster with replicas) and its faults;
//! `faults.rs` the other fault injections and topology changes the drills use; `rolling.rs`
//! changes of the servers' environment and rolling restarts (secret rotation).
//!
//! Start order mirrors `docker-compose.scale.yml`: certificates (`cryptoserve tls dev-cert`,
//! unless the caller brought some) → database and Redis → shared secrets (`cryptoserve
//! keygen`) → `cryptoserve migrate` → backends (TLS with client certificates required), each
//! waited on until `/health/ready` on its plain ops listener answers 200 → nginx over the
//! ready backends (TLS to clients, mutual TLS to the backends) → an admin identity
//! (`cryptoserve identity create`). Every change of topology rewrites the state file.

mod faults;
mod options;
mod redis;
mod rolling;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cryptoserve_testkit::nginx::{Nginx, NginxConfig};
use cryptoserve_testkit::postgres::Postgres;

use crate::backend::{Backend, ServerEnv};
use crate::error::{io_err, ClusterError, Result};
use crate::secrets::Secrets;
use crate::state::{BackendRecord, ClusterState, ProcessRecord};
use crate::tls::ClusterTls;
use faults::pool_addrs;
use options::shared_vars;
pub use options::ClusterOptions;
use redis::Redis;
pub use redis::RedisTopology;

/// Where the cluster keeps its files.
#[derive(Debug)]
enum StateDir {
    /// Chosen by the caller; kept after teardown (logs stay for reading).
    Kept(PathBuf),
    /// Ours; removed after every process is stopped.
    Temp(tempfile::TempDir),
}

impl StateDir {
    fn path(&self) -> &Path {
        match self {
            StateDir::Kept(path) => path,
            StateDir::Temp(dir) => dir.path(),
        }
    }
}

/// A running local cluster. Fields drop in order: backends, nginx, Redis, PostgreSQL, then
/// the state dir, so nothing loses its files while still running.
pub struct Cluster {
    /// Every backend ever started, by index (stopped ones stay, so indices are stable).
    backends: Vec<Backend>,
    /// The load balancer.
    nginx: Nginx,
    /// Rate-limit store: one server or a Redis Cluster.
    redis: Redis,
    /// The database.
    postgres: Postgres,
    /// Binary, shared environment and certificates of every server process.
    env: ServerEnv,
    /// Bearer token of the `cluster-admin` identity.
    admin_token: String,
    /// Drain budget for `terminate_backend`: delay + timeout + slack.
    terminate_timeout: Duration,
    /// PostgreSQL's data dir, asked once at start (the server cannot answer while stopped).
    postgres_data_dir: Option<PathBuf>,
    /// Logs, data dirs, state file.
    state_dir: StateDir,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("url", &self.url())
            .field("backends", &self.backends)
            .field("state_dir", &self.state_dir)
            .field("admin_token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Starts everything and returns once nginx serves the ready backends.
    pub fn up(options: ClusterOptions) -> Result<Cluster> {
        if options.backends == 0 {
            return Err(ClusterError::Invalid(
                "a cluster needs at least one backend".into(),
            ));
        }
        let main_conf = options.repo_root.join("nginx.scale.conf");
        if !main_conf.is_file() {
            return Err(ClusterError::Invalid(format!(
                "{} not found; pass the repository root",
                main_conf.display()
            )));
        }
        let state_dir = prepare_state_dir(options.state_dir.as_deref())?;
        let dir = state_dir.path().to_path_buf();
        let tls = ClusterTls::prepare(&options.server_binary, options.tls_dir.as_deref(), &dir)?;

        let postgres = Postgres::start()?;
        let redis = Redis::start(options.redis, &dir)?;
        let secrets = Secrets::generate(&options.server_binary)?;
        let env = ServerEnv {
            binary: options.server_binary.clone(),
            vars: shared_vars(&options, &postgres, redis.url(), &dir),
            secrets,
            tls,
        };
        env.run(&["migrate"])?;

        let mut backends = Vec::with_capacity(options.backends);
        for index in 0..options.backends {
            let mut backend = Backend::start(&env, index, &dir)?;
            backend.in_pool = true;
            backends.push(backend);
        }
        let nginx = match options.nginx_port {
            Some(port) => Nginx::start(NginxConfig {
                listen_port: port,
                upstreams: pool_addrs(&backends),
                main_conf,
                tls_dir: env.tls.dir().to_path_buf(),
            })?,
            None => Nginx::start_on_free_port(
                pool_addrs(&backends),
                main_conf,
                env.tls.dir().to_path_buf(),
            )?,
        };
        let admin_token = env
            .run(&[
                "identity",
                "create",
                "--name",
                "cluster-admin",
                "--role",
                "admin",
            ])?
            .trim()
            .to_owned();
        let postgres_data_dir = postgres
            .psql("postgres", "SHOW data_directory")
            .ok()
            .map(PathBuf::from);
        let delay = u64::from(options.shutdown_delay_secs);
        let timeout = u64::from(options.shutdown_timeout_secs);
        let cluster = Cluster {
            backends,
            nginx,
            redis,
            postgres,
            env,
            admin_token,
            terminate_timeout: Duration::from_secs(delay + timeout + 10),
            postgres_data_dir,
            state_dir,
        };
        cluster.write_state()?;
        Ok(cluster)
    }

    /// nginx's URL, the cluster's front door: `https://127.0.0.1:<port>`, with a certificate
    /// from [`Cluster::ca_cert_path`].
    pub fn url(&self) -> String {
        self.nginx.url()
    }

    /// nginx's port. It speaks TLS only: plain HTTP sent there gets 400 `https_required`.
    pub fn nginx_port(&self) -> u16 {
        self.nginx.port()
    }

    /// The cluster's CA certificate: what a client trusts (`curl --cacert`,
    /// `CRYPTOSERVE_CACERT`), and what nginx and the backends verify each other by.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.env.tls.ca_cert()
    }

    /// A client certificate the backends accept; with [`Cluster::client_key_path`], what a
    /// client needs to talk to a backend directly (they require mutual TLS).
    pub fn client_cert_path(&self) -> PathBuf {
        self.env.tls.client_cert()
    }

    /// The key of [`Cluster::client_cert_path`].
    pub fn client_key_path(&self) -> PathBuf {
        self.env.tls.client_key()
    }

    /// The directory all certificates come from (the `cryptoserve tls dev-cert --out`
    /// layout). Backends re-read `server.crt`/`.key` there within
    /// `CRYPTOSERVE_TLS_RELOAD_INTERVAL`; nginx uses the copy it made at start.
    pub fn tls_dir(&self) -> &Path {
        self.env.tls.dir()
    }

    /// Direct URLs (`https://`, mutual TLS) of the backends that are running now.
    pub fn backend_urls(&self) -> Vec<String> {
        self.backends
            .iter()
            .filter(|backend| backend.is_running())
            .map(Backend::url)
            .collect()
    }

    /// Every backend ever started, by index.
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// Backend `index`.
    pub fn backend(&self, index: usize) -> Result<&Backend> {
        self.backends
            .get(index)
            .ok_or(ClusterError::NoSuchBackend(index))
    }

    /// Bearer token of an admin identity (admins may also use every context).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The state dir (logs, `state.json`).
    pub fn state_dir(&self) -> &Path {
        self.state_dir.path()
    }

    /// nginx's JSON access log (one object per request, with `upstream_addr`).
    pub fn nginx_access_log(&self) -> PathBuf {
        self.nginx.access_log_path()
    }

    /// The database, for direct queries (`psql`).
    pub fn postgres(&self) -> &Postgres {
        &self.postgres
    }

    /// Orderly teardown: every running backend gets SIGTERM and drains, then nginx, Redis and
    /// PostgreSQL stop (drop order).
    pub fn down(mut self) -> Result<()> {
        for backend in &mut self.backends {
            backend.in_pool = false;
        }
        let timeout = self.terminate_timeout;
        for backend in &mut self.backends {
            if backend.is_running() {
                backend.terminate(timeout)?;
            }
        }
        Ok(())
    }

    /// What `state.json` records about this cluster now.
    pub fn state(&self) -> Result<ClusterState> {
        let postgres_dir = self.postgres_data_dir.clone();
        let postgres_pid = postgres_dir.as_deref().and_then(read_postmaster_pid);
        let nginx_dir = self
            .nginx
            .access_log_path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(ClusterState {
            launcher_pid: std::process::id(),
            url: self.url(),
            admin_token: self.admin_token.clone(),
            database_url: self.postgres.url(),
            redis_url: self.redis.url(),
            ca_cert: self.ca_cert_path(),
            nginx: ProcessRecord {
                pid: read_pid_file(&nginx_dir.join("nginx.pid")),
                dir: nginx_dir,
            },
            redis: self.redis.record(self.state_dir()),
            redis_nodes: self.redis.node_records(),
            postgres: ProcessRecord {
                pid: postgres_pid,
                // The testkit dir holds `data/`; removing it removes the whole cluster.
                dir: postgres_dir
                    .as_deref()
                    .and_then(Path::parent)
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            },
            backends: self
                .backends
                .iter()
                .map(|backend| BackendRecord {
                    index: backend.index(),
                    url: backend.url(),
                    ops_port: backend.ops_port(),
                    pid: backend.pid().filter(|_| backend.is_running()),
                    in_pool: backend.in_pool(),
                    log: backend.log_path().to_path_buf(),
                })
                .collect(),
        })
    }

    fn write_state(&self) -> Result<()> {
        self.state()?.write(self.state_dir())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The processes stop as the fields drop; a state file left behind would point `down`
        // at PIDs that are gone.
        let _ = std::fs::remove_file(self.state_dir().join(crate::state::STATE_FILE));
    }
}

/// Creates the caller's state dir (refusing one a live cluster still uses) or a temp dir.
fn prepare_state_dir(requested: Option<&Path>) -> Result<StateDir> {
    let Some(path) = requested else {
        let dir = tempfile::Builder::new()
            .prefix("cryptoserve-cluster-")
            .tempdir()
            .map_err(io_err("creating the cluster state dir"))?;
        return Ok(StateDir::Temp(dir));
    };
    std::fs::create_dir_all(path).map_err(io_err(format!("creating {}", path.display())))?;
    if let Some(state) = ClusterState::read(path)? {
        if state.launcher_alive() {
            return Err(ClusterError::Invalid(format!(
                "a cluster started by PID {} still uses {}; stop it with \
                 `cryptoserve-cluster down --state-dir {}`",
                state.launcher_pid,
                path.display(),
                path.display()
            )));
        }
    }
    // Absolute, because server processes run with their own working directories.
    let path = std::fs::canonicalize(path).map_err(io_err("resolving the state dir"))?;
    Ok(StateDir::Kept(path))
}

fn read_pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The postmaster's PID is the first line of `postmaster.pid` in the data dir.
fn read_postmaster_pid(data_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}
