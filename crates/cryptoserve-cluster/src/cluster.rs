//! [`Cluster`]: PostgreSQL, Redis, N backends and nginx, started in dependency order and torn
//! down when dropped; plus the fault injections the drills use.
//!
//! Start order mirrors `docker-compose.scale.yml`: database and Redis → shared secrets
//! (`cryptoserve keygen`) → `cryptoserve migrate` → backends, each waited on until
//! `/health/ready` answers 200 → nginx over the ready backends → an admin identity
//! (`cryptoserve identity create`). Every change of topology rewrites the state file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use cryptoserve_testkit::nginx::{Nginx, NginxConfig};
use cryptoserve_testkit::postgres::Postgres;
use cryptoserve_testkit::redis::{RedisOptions, RedisServer};

use crate::backend::{Backend, ServerEnv};
use crate::error::{io_err, ClusterError, Result};
use crate::secrets::Secrets;
use crate::state::{BackendRecord, ClusterState, ProcessRecord};

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
    /// Further environment for every server process (applied last, so it can override).
    pub extra_env: Vec<(String, String)>,
    /// TLS files for nginx (`cryptoserve tls dev-cert --out` layout).
    // TLS: wired by the lead
    pub tls_dir: PathBuf,
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
            // TLS: wired by the lead
            tls_dir: PathBuf::from("tls"),
        }
    }
}

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
    /// Rate-limit store.
    redis: RedisServer,
    /// The database.
    postgres: Postgres,
    /// Binary and shared environment of every server process.
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

        let postgres = Postgres::start()?;
        let redis = RedisServer::start_with(RedisOptions {
            password: None,
            extra_args: vec![
                "--pidfile".into(),
                dir.join("redis.pid").display().to_string(),
            ],
        })?;
        let secrets = Secrets::generate(&options.server_binary)?;
        let env = ServerEnv {
            binary: options.server_binary.clone(),
            vars: shared_vars(&options, &postgres, &redis, &dir),
            secrets,
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
                // TLS: wired by the lead
                tls_dir: options.tls_dir.clone(),
            })?,
            None => Nginx::start_on_free_port(
                pool_addrs(&backends),
                main_conf,
                options.tls_dir.clone(),
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

    /// nginx's URL, the cluster's front door.
    pub fn url(&self) -> String {
        self.nginx.url()
    }

    /// Direct URLs of the backends that are running now.
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

    /// SIGKILLs backend `index`, as a crash would. nginx is not told: it finds out from the
    /// refused connections, exactly as in production.
    pub fn kill_backend(&mut self, index: usize) -> Result<()> {
        self.backend_mut(index)?.kill()?;
        self.write_state()
    }

    /// SIGTERMs backend `index` and waits for it to drain and exit. nginx keeps it in its list
    /// (a rolling update looks like this to the balancer).
    pub fn terminate_backend(&mut self, index: usize) -> Result<ExitStatus> {
        let timeout = self.terminate_timeout;
        let status = self.backend_mut(index)?.terminate(timeout)?;
        self.write_state()?;
        Ok(status)
    }

    /// Starts a stopped backend again on its old port.
    pub fn restart_backend(&mut self, index: usize) -> Result<()> {
        let env = &self.env;
        self.backends
            .get_mut(index)
            .ok_or(ClusterError::NoSuchBackend(index))?
            .restart(env)?;
        self.write_state()
    }

    /// Starts one more backend, waits until it is ready, adds it to nginx and reloads.
    /// Returns its index.
    pub fn add_backend(&mut self) -> Result<usize> {
        let index = self.start_backend()?;
        self.reload_nginx()?;
        self.write_state()?;
        Ok(index)
    }

    /// Takes backend `index` out of nginx (reload), then SIGTERMs it and waits for the drain.
    pub fn remove_backend(&mut self, index: usize) -> Result<ExitStatus> {
        self.backend_mut(index)?.in_pool = false;
        self.reload_nginx()?;
        self.terminate_backend(index)
    }

    /// Scales to `count` running backends in nginx's pool. Crashed backends leave the pool;
    /// new ones join only once ready; surplus ones leave the pool before they are terminated,
    /// so no request is sent to a backend that is going away.
    pub fn set_backends(&mut self, count: usize) -> Result<()> {
        if count == 0 {
            return Err(ClusterError::Invalid(
                "a cluster needs at least one backend".into(),
            ));
        }
        for backend in &mut self.backends {
            if backend.in_pool && !backend.is_running() {
                backend.in_pool = false;
            }
        }
        let pool: Vec<usize> = self.pool_indices();
        if pool.len() < count {
            for _ in pool.len()..count {
                self.start_backend()?;
            }
            self.reload_nginx()?;
        } else if pool.len() > count {
            let surplus = pool.get(count..).unwrap_or_default().to_vec();
            for &index in &surplus {
                self.backend_mut(index)?.in_pool = false;
            }
            self.reload_nginx()?;
            for index in surplus {
                self.terminate_backend(index)?;
            }
        }
        self.write_state()
    }

    /// Rewrites nginx's upstream list from the backends in the pool and reloads; returns once
    /// new connections are served by the new configuration.
    pub fn reload_nginx(&mut self) -> Result<()> {
        self.nginx.set_upstreams(pool_addrs(&self.backends))?;
        Ok(())
    }

    /// Kills Redis (SIGKILL, as a crash) and starts it again empty on the same port.
    pub fn restart_redis(&mut self) -> Result<()> {
        self.redis.restart()?;
        self.write_state()
    }

    /// Kills Redis and leaves it down until [`Cluster::start_redis`].
    pub fn stop_redis(&mut self) -> Result<()> {
        self.redis.kill()?;
        Ok(())
    }

    /// Starts a stopped Redis again (empty) on the same port.
    pub fn start_redis(&mut self) -> Result<()> {
        self.redis.restart()?;
        self.write_state()
    }

    /// Stops PostgreSQL (fast shutdown: open connections are cut) and leaves it down.
    pub fn stop_postgres(&mut self) -> Result<()> {
        self.postgres.stop()?;
        Ok(())
    }

    /// Starts PostgreSQL again with the same data and port.
    pub fn start_postgres(&mut self) -> Result<()> {
        self.postgres.start_again()?;
        self.write_state()
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
            nginx: ProcessRecord {
                pid: read_pid_file(&nginx_dir.join("nginx.pid")),
                dir: nginx_dir,
            },
            redis: ProcessRecord {
                pid: read_pid_file(&self.state_dir().join("redis.pid")),
                dir: self.redis.dir().to_path_buf(),
            },
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

    fn start_backend(&mut self) -> Result<usize> {
        let index = self.backends.len();
        let mut backend = Backend::start(&self.env, index, self.state_dir.path())?;
        backend.in_pool = true;
        self.backends.push(backend);
        Ok(index)
    }

    fn backend_mut(&mut self, index: usize) -> Result<&mut Backend> {
        self.backends
            .get_mut(index)
            .ok_or(ClusterError::NoSuchBackend(index))
    }

    fn pool_indices(&self) -> Vec<usize> {
        self.backends
            .iter()
            .filter(|backend| backend.in_pool)
            .map(Backend::index)
            .collect()
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

/// The environment every server process of the cluster shares.
fn shared_vars(
    options: &ClusterOptions,
    postgres: &Postgres,
    redis: &RedisServer,
    dir: &Path,
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("CRYPTOSERVE_ENV", "production".to_owned()),
        ("DATABASE_URL", postgres.url()),
        ("REDIS_URL", redis.url()),
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

/// `127.0.0.1:port` of every backend in nginx's pool.
fn pool_addrs(backends: &[Backend]) -> Vec<SocketAddr> {
    backends
        .iter()
        .filter(|backend| backend.in_pool())
        .map(|backend| SocketAddr::from(([127, 0, 0, 1], backend.port())))
        .collect()
}

fn read_pid_file(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The postmaster's PID is the first line of `postmaster.pid` in the data dir.
fn read_postmaster_pid(data_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}
