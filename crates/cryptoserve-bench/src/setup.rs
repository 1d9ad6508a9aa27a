//! The three setups the benchmark measures, and the running target each one yields.
//!
//! - [`SetupKind::Embedded`]: `cryptoserve serve` with an empty environment: SQLite in the
//!   data dir, generated development secrets, the in-process limiter, default workers.
//! - [`SetupKind::Redis`]: the same plus `REDIS_URL` (testkit `RedisServer`).
//! - [`SetupKind::RedisUnleased`]: the Redis setup with leases off
//!   (`CRYPTOSERVE_RATE_LIMIT_LEASE_MS=0`), so every request is decided by a script run; only
//!   `/health/live` and encrypt 256 B.
//! - [`SetupKind::Cluster`]: `cryptoserve_cluster::Cluster` with three backends behind nginx
//!   (PostgreSQL, Redis, production environment), driven through nginx.
//!
//! Dropping a [`Running`] stops every process the setup started.

use std::path::{Path, PathBuf};
use std::process::Command;

use cryptoserve_cluster::{Cluster, ClusterOptions};
use cryptoserve_testkit::redis::{RedisOptions, RedisServer};
use serde::Serialize;

use crate::error::{io_err, Result};
use crate::procstat::{self, Watch};
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
}

impl SetupKind {
    /// Every setup, in the order they run.
    pub const ALL: [SetupKind; 4] = [
        SetupKind::Embedded,
        SetupKind::Redis,
        SetupKind::RedisUnleased,
        SetupKind::Cluster,
    ];

    /// Short name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            SetupKind::Embedded => "embedded",
            SetupKind::Redis => "redis",
            SetupKind::RedisUnleased => "redis_unleased",
            SetupKind::Cluster => "cluster",
        }
    }

    /// Whether the setup runs `scenario`: the unleased one only runs the ceiling and encrypt
    /// 256 B, the figures that compare it with the leased one.
    pub fn runs(self, scenario: &str) -> bool {
        self != SetupKind::RedisUnleased || matches!(scenario, "health_live" | "encrypt_256")
    }

    /// Whether the setup has a Redis limiter.
    pub fn uses_redis(self) -> bool {
        self != SetupKind::Embedded
    }

    /// One line describing the setup, for the report.
    pub fn description(self) -> &'static str {
        match self {
            SetupKind::Embedded => {
                "one `cryptoserve serve`, empty environment (SQLite, in-process limiter, \
                 default workers = CPUs, development log format)"
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
                 nginx (`nginx.scale.conf`), production environment, JSON logs; load through nginx"
            }
        }
    }
}

/// Command counts from Redis. Commands a Lua script runs (`TIME`, `GET`, `SET`) are counted
/// too, so round trips are best seen in `scripts`: one `EVALSHA`/`EVAL` is one round trip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisCounters {
    /// Every command, including those run inside scripts.
    pub commands: u64,
    /// `EVAL`, `EVALSHA` and their read-only variants: one client round trip each.
    pub scripts: u64,
}

impl RedisCounters {
    /// Sums the `calls=` of `INFO commandstats` output, leaving out `INFO` itself.
    pub fn parse(info: &str) -> RedisCounters {
        let mut counters = RedisCounters::default();
        for line in info.lines() {
            let Some((name, stats)) = line
                .strip_prefix("cmdstat_")
                .and_then(|rest| rest.split_once(':'))
            else {
                continue;
            };
            let calls = stats
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))
                .and_then(|calls| calls.parse::<u64>().ok())
                .unwrap_or(0);
            if name == "info" {
                continue;
            }
            counters.commands += calls;
            if name.starts_with("eval") {
                counters.scripts += calls;
            }
        }
        counters
    }
}

/// What a setup needs from the caller.
#[derive(Debug, Clone)]
pub struct SetupInputs {
    /// The release `cryptoserve` binary.
    pub server_binary: PathBuf,
    /// Repository root (`nginx.scale.conf`).
    pub repo_root: PathBuf,
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
    /// Redis port, when the setup has one (to count commands per request).
    pub redis_port: Option<u16>,
    /// Owns every process; dropped last.
    _guard: Guard,
}

/// The processes of a setup, stopped in field order when dropped.
#[derive(Debug)]
enum Guard {
    Single(Box<SingleGuard>),
    Cluster(Box<Cluster>),
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
                start_single(kind, inputs)
            }
            SetupKind::Cluster => start_cluster(inputs),
        }
    }

    /// Redis counters so far, from `INFO commandstats` (without `INFO` itself).
    pub fn redis_counters(&self) -> Option<RedisCounters> {
        let port = self.redis_port?;
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["INFO", "commandstats"])
            .output()
            .ok()?;
        Some(RedisCounters::parse(&String::from_utf8_lossy(
            &output.stdout,
        )))
    }

    /// Whether the setup's processes are still there (in case one crashed mid-run).
    pub fn is_guard_alive(&self) -> bool {
        match &self._guard {
            Guard::Single(single) => cryptoserve_cluster::process::is_alive(single.server.pid()),
            Guard::Cluster(cluster) => cluster.backends().iter().all(|b| b.is_running()),
        }
    }
}

fn start_single(kind: SetupKind, inputs: &SetupInputs) -> Result<Running> {
    let dir = tempfile::Builder::new()
        .prefix("cryptoserve-bench-")
        .tempdir()
        .map_err(io_err("creating the setup temp dir"))?;
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
    let (server, _) = EmbeddedServer::start(&inputs.server_binary, &dir.path().join("data"), &env)?;
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
        redis_port: redis.as_ref().map(RedisServer::port),
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
        redis_port,
        _guard: Guard::Cluster(Box::new(cluster)),
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
    use super::RedisCounters;

    #[test]
    fn counts_commands_and_script_round_trips() {
        let info = "# Commandstats\r\n\
            cmdstat_evalsha:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_get:calls=30,usec=10\r\n\
            cmdstat_info:calls=4,usec=90\r\n";
        let counters = RedisCounters::parse(info);
        assert_eq!(
            counters,
            RedisCounters {
                commands: 40,
                scripts: 10
            }
        );
    }
}
