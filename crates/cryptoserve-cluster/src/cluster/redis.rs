//! The cluster's Redis, standalone or a Redis Cluster ([`RedisTopology`]), and the faults the
//! drills inject into it: restart (or stop and start) the standalone server, SIGKILL the
//! master that serves a key so its replica is promoted. Each keeps `state.json` current.

use std::path::Path;

use cryptoserve_testkit::redis::{RedisCluster, RedisClusterOptions, RedisOptions, RedisServer};

use super::Cluster;
use crate::error::{ClusterError, Result};
use crate::state::ProcessRecord;

/// Which Redis the backends share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisTopology {
    /// One `redis-server`, as in `docker-compose.scale.yml`.
    #[default]
    Standalone,
    /// A Redis Cluster (`REDIS_URL=redis-cluster://...` naming every node). With replicas,
    /// `cluster-node-timeout` is 1 s, so a killed master's replica takes over in 2–3 s.
    Cluster {
        /// Primaries sharing the slots; Redis needs at least 3.
        masters: usize,
        /// Replicas of each master; at least 1 for a failover.
        replicas_per_master: usize,
    },
}

/// The running Redis of a cluster.
#[derive(Debug)]
pub(super) enum Redis {
    Standalone(RedisServer),
    Cluster(RedisCluster),
}

impl Redis {
    /// Starts the topology; a standalone server writes its PID to `<dir>/redis.pid`.
    pub(super) fn start(topology: RedisTopology, dir: &Path) -> Result<Redis> {
        match topology {
            RedisTopology::Standalone => {
                Ok(Redis::Standalone(RedisServer::start_with(RedisOptions {
                    password: None,
                    extra_args: vec![
                        "--pidfile".into(),
                        dir.join("redis.pid").display().to_string(),
                    ],
                })?))
            }
            RedisTopology::Cluster {
                masters,
                replicas_per_master,
            } => {
                let options = if replicas_per_master == 0 {
                    RedisClusterOptions {
                        masters,
                        ..RedisClusterOptions::default()
                    }
                } else {
                    RedisClusterOptions {
                        masters,
                        replicas_per_master,
                        node_timeout: cryptoserve_testkit::redis::FAILOVER_NODE_TIMEOUT,
                    }
                };
                Ok(Redis::Cluster(RedisCluster::start_with(options)?))
            }
        }
    }

    /// `REDIS_URL` for the backends.
    pub(super) fn url(&self) -> String {
        match self {
            Redis::Standalone(server) => server.url(),
            Redis::Cluster(cluster) => cluster.url(),
        }
    }

    /// What `state.json` records: the standalone server's PID and dir, or the cluster's dir
    /// with its nodes' PIDs apart ([`Redis::node_records`]).
    pub(super) fn record(&self, state_dir: &Path) -> ProcessRecord {
        match self {
            Redis::Standalone(server) => ProcessRecord {
                pid: super::read_pid_file(&state_dir.join("redis.pid")),
                dir: server.dir().to_path_buf(),
            },
            Redis::Cluster(cluster) => ProcessRecord {
                pid: None,
                dir: cluster.dir().to_path_buf(),
            },
        }
    }

    /// One record per running Redis Cluster node (none for a standalone server).
    pub(super) fn node_records(&self) -> Vec<ProcessRecord> {
        match self {
            Redis::Standalone(_) => Vec::new(),
            Redis::Cluster(cluster) => cluster
                .pids()
                .into_iter()
                .map(|pid| ProcessRecord {
                    pid: Some(pid),
                    dir: cluster.dir().to_path_buf(),
                })
                .collect(),
        }
    }
}

impl Cluster {
    /// The Redis Cluster the backends share, when [`RedisTopology::Cluster`] was chosen: for
    /// asking which node serves a key, its replicas, and whether one was promoted.
    pub fn redis_cluster(&self) -> Option<&RedisCluster> {
        match &self.redis {
            Redis::Cluster(cluster) => Some(cluster),
            Redis::Standalone(_) => None,
        }
    }

    /// SIGKILLs the Redis Cluster master serving `key`'s slot (e.g. `cs:rl:context:<name>`,
    /// a rate-limit bucket), as a crash would; its replica takes over after
    /// `cluster-node-timeout` and an election. Returns the killed node's port.
    pub fn kill_redis_master(&mut self, key: &str) -> Result<u16> {
        let Redis::Cluster(cluster) = &mut self.redis else {
            return Err(ClusterError::Invalid(
                "kill_redis_master needs RedisTopology::Cluster".into(),
            ));
        };
        let port = cluster.master_of_key(key)?;
        cluster.kill_node(port)?;
        self.write_state()?;
        Ok(port)
    }

    /// Starts a killed Redis Cluster node again; a replaced master rejoins as a replica.
    pub fn restart_redis_node(&mut self, port: u16) -> Result<()> {
        let Redis::Cluster(cluster) = &mut self.redis else {
            return Err(ClusterError::Invalid(
                "restart_redis_node needs RedisTopology::Cluster".into(),
            ));
        };
        cluster.restart_node(port)?;
        self.write_state()
    }

    /// Kills Redis (SIGKILL, as a crash) and starts it again empty on the same port.
    pub fn restart_redis(&mut self) -> Result<()> {
        self.standalone_redis()?.restart()?;
        self.write_state()
    }

    /// Kills Redis and leaves it down until [`Cluster::start_redis`].
    pub fn stop_redis(&mut self) -> Result<()> {
        self.standalone_redis()?.kill()?;
        Ok(())
    }

    /// Starts a stopped Redis again (empty) on the same port.
    pub fn start_redis(&mut self) -> Result<()> {
        self.standalone_redis()?.restart()?;
        self.write_state()
    }

    fn standalone_redis(&mut self) -> Result<&mut RedisServer> {
        match &mut self.redis {
            Redis::Standalone(server) => Ok(server),
            Redis::Cluster(_) => Err(ClusterError::Invalid(
                "this fault needs standalone Redis; on a Redis Cluster use kill_redis_master"
                    .into(),
            )),
        }
    }
}
