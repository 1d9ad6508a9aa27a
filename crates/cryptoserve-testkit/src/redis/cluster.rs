//! [`RedisCluster`]: a Redis Cluster of masters, optionally each with replicas, on 127.0.0.1,
//! plus what a failover drill needs: which master serves a key, its replicas, SIGKILL a node,
//! whether a node is a master now, and waiting until every slot is served by a live master
//! again.
//!
//! Failover speed is set by `cluster-node-timeout`: a master that has not answered for that
//! long is suspected, marked failed once a majority of masters agree, and one of its replicas
//! is elected after a further 0.5–1 s. [`RedisCluster::start_with_replicas`] uses
//! [`FAILOVER_NODE_TIMEOUT`] (1 s), so a killed master is replaced about 2–3 s later;
//! [`RedisCluster::start`] keeps 2 s (no replicas: nothing to fail over to).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::nodes::{parse_nodes, ClusterNode};
use super::{
    base_args, combined, redis_cli, spawn_err, spawn_redis, wait_ready, wait_until, with_log,
    READY_TIMEOUT, START_ATTEMPTS,
};
use crate::net::free_port;
use crate::{io_err, Result, TestkitError};

/// `cluster-node-timeout` of [`RedisCluster::start_with_replicas`]: short, so a failover
/// takes seconds, yet long enough that a node starved for a moment on a busy test machine is
/// not failed over by mistake.
pub const FAILOVER_NODE_TIMEOUT: Duration = Duration::from_millis(1000);

/// How a [`RedisCluster`] is laid out.
#[derive(Debug, Clone)]
pub struct RedisClusterOptions {
    /// Primaries sharing the 16 384 slots; Redis needs at least 3.
    pub masters: usize,
    /// Replicas of each master (0: no failover possible).
    pub replicas_per_master: usize,
    /// `cluster-node-timeout`: how long a silent node takes to be suspected.
    pub node_timeout: Duration,
}

impl Default for RedisClusterOptions {
    fn default() -> Self {
        Self {
            masters: 3,
            replicas_per_master: 0,
            node_timeout: Duration::from_millis(2000),
        }
    }
}

/// One `redis-server` process of the cluster; its ports and directory survive a kill, so it
/// can be started again as the same node.
#[derive(Debug)]
struct Node {
    port: u16,
    bus_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// A Redis Cluster on 127.0.0.1; every node is killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    options: RedisClusterOptions,
    dir: tempfile::TempDir,
}

impl RedisCluster {
    /// `masters` primaries without replicas (`cluster-node-timeout` 2 s).
    pub fn start(masters: usize) -> Result<Self> {
        Self::start_with(RedisClusterOptions {
            masters,
            ..RedisClusterOptions::default()
        })
    }

    /// `masters` primaries with `replicas_per_master` replicas each and
    /// [`FAILOVER_NODE_TIMEOUT`], for failover drills.
    pub fn start_with_replicas(masters: usize, replicas_per_master: usize) -> Result<Self> {
        Self::start_with(RedisClusterOptions {
            masters,
            replicas_per_master,
            node_timeout: FAILOVER_NODE_TIMEOUT,
        })
    }

    /// Starts every node, joins them with `redis-cli --cluster create --cluster-replicas`,
    /// and waits until every node reports `cluster_state:ok` and knows every other one, and
    /// every replica has synchronised with its master (a replica that never did cannot be
    /// promoted).
    pub fn start_with(options: RedisClusterOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cryptoserve-redis-cluster-")
            .tempdir()
            .map_err(io_err("creating redis cluster temp dir"))?;
        let total = options.masters * (1 + options.replicas_per_master);
        let mut cluster = Self {
            nodes: Vec::with_capacity(total),
            options,
            dir,
        };
        for index in 0..total {
            let node = cluster.start_node(index)?;
            cluster.nodes.push(node);
        }
        cluster.create()?;
        let replicas = cluster.options.masters * cluster.options.replicas_per_master;
        for node in &cluster.nodes {
            let port = node.port;
            wait_until(READY_TIMEOUT, "redis cluster formed", || {
                let info = redis_cli(port, None, &["CLUSTER", "INFO"])?;
                let known = format!("cluster_known_nodes:{total}");
                let nodes = parse_nodes(&redis_cli(port, None, &["CLUSTER", "NODES"])?);
                let seen_replicas = nodes.iter().filter(|n| n.master_id.is_some()).count();
                Ok(info.contains("cluster_state:ok")
                    && info.contains(&known)
                    && seen_replicas == replicas)
            })?;
            wait_until(READY_TIMEOUT, "redis replica in sync", || {
                let replication = redis_cli(port, None, &["INFO", "replication"])?;
                Ok(replication.contains("role:master")
                    || replication.contains("master_link_status:up"))
            })?;
        }
        Ok(cluster)
    }

    /// fred's cluster URL naming every node as a seed:
    /// `redis-cluster://host:port?node=host:port&...`.
    pub fn url(&self) -> String {
        let mut ports = self.nodes.iter().map(|node| node.port);
        let Some(first) = ports.next() else {
            return String::new();
        };
        let nodes: Vec<String> = ports.map(|p| format!("node=127.0.0.1:{p}")).collect();
        if nodes.is_empty() {
            format!("redis-cluster://127.0.0.1:{first}")
        } else {
            format!("redis-cluster://127.0.0.1:{first}?{}", nodes.join("&"))
        }
    }

    /// The client ports of all nodes, running or not, masters first as created.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|node| node.port).collect()
    }

    /// The cluster's working directory (one `node-N-A/` per node, each with `redis.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `cluster-node-timeout` the nodes run with.
    pub fn node_timeout(&self) -> Duration {
        self.options.node_timeout
    }

    /// PIDs of the nodes running now.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter_map(|node| node.child.as_ref().map(Child::id))
            .collect()
    }

    /// The cluster as the first running node that answers sees it.
    pub fn nodes(&self) -> Result<Vec<ClusterNode>> {
        for node in self.nodes.iter().filter(|node| node.child.is_some()) {
            let text = redis_cli(node.port, None, &["CLUSTER", "NODES"])?;
            let nodes = parse_nodes(&text);
            if !nodes.is_empty() {
                return Ok(nodes);
            }
        }
        Err(TestkitError::NotReady("any redis cluster node".into()))
    }

    /// The hash slot of `key` (`CLUSTER KEYSLOT`, so the test needs no CRC16 of its own).
    pub fn slot_of(&self, key: &str) -> Result<u16> {
        for node in self.nodes.iter().filter(|node| node.child.is_some()) {
            let answer = redis_cli(node.port, None, &["CLUSTER", "KEYSLOT", key])?;
            if let Ok(slot) = answer.trim().parse() {
                return Ok(slot);
            }
        }
        Err(TestkitError::NotReady("any redis cluster node".into()))
    }

    /// The port of the live master serving `key`'s slot.
    pub fn master_of_key(&self, key: &str) -> Result<u16> {
        let slot = self.slot_of(key)?;
        self.nodes()?
            .into_iter()
            .find(|node| {
                node.master
                    && !node.failed
                    && node.slots.iter().any(|&(a, b)| (a..=b).contains(&slot))
            })
            .map(|node| node.port)
            .ok_or_else(|| TestkitError::NotReady(format!("a master for slot {slot}")))
    }

    /// Ports of the replicas of the master on `port`.
    pub fn replicas_of(&self, port: u16) -> Result<Vec<u16>> {
        let nodes = self.nodes()?;
        let Some(master) = nodes.iter().find(|node| node.port == port) else {
            return Ok(Vec::new());
        };
        Ok(nodes
            .iter()
            .filter(|node| node.master_id.as_deref() == Some(master.id.as_str()))
            .map(|node| node.port)
            .collect())
    }

    /// Whether the node on `port` says it is a master (`ROLE`); false if it does not answer.
    pub fn is_master(&self, port: u16) -> Result<bool> {
        let role = redis_cli(port, None, &["ROLE"])?;
        Ok(role.lines().next().map(str::trim) == Some("master"))
    }

    /// SIGKILLs the node on `port`, as a crash would, and reaps it.
    pub fn kill_node(&mut self, port: u16) -> Result<()> {
        let node = self.node_mut(port)?;
        if let Some(mut child) = node.child.take() {
            // Fails only when it already exited; `wait` still reaps it.
            let _ = child.kill();
            child
                .wait()
                .map_err(io_err("waiting for a killed redis node"))?;
        }
        Ok(())
    }

    /// Starts a killed node again with its ports and `nodes.conf`, so it rejoins as the node
    /// it was (a replaced master comes back as a replica of its successor). Persistence is
    /// off: it comes back empty and resynchronises.
    pub fn restart_node(&mut self, port: u16) -> Result<()> {
        let timeout = self.options.node_timeout;
        let node = self.node_mut(port)?;
        if node.child.is_some() {
            return Ok(());
        }
        let mut child = spawn_node(node.port, node.bus_port, &node.dir, timeout)?;
        let ready = wait_ready(&mut child, node.port, None, "redis-server (cluster node)");
        node.child = Some(child);
        ready.map_err(|error| with_log(error, &node.dir))
    }

    /// Waits until every running node reports `cluster_state:ok` and sees every slot served
    /// by a running master: after a failover, once the promotion has spread.
    pub fn wait_until_ok(&self, timeout: Duration) -> Result<()> {
        let running: Vec<u16> = self
            .nodes
            .iter()
            .filter(|node| node.child.is_some())
            .map(|node| node.port)
            .collect();
        wait_until(timeout, "redis cluster ok with live masters", || {
            for &port in &running {
                let info = redis_cli(port, None, &["CLUSTER", "INFO"])?;
                let nodes = parse_nodes(&redis_cli(port, None, &["CLUSTER", "NODES"])?);
                let served: usize = nodes
                    .iter()
                    .filter(|node| node.master && running.contains(&node.port))
                    .flat_map(|node| &node.slots)
                    .map(|&(a, b)| usize::from(b - a) + 1)
                    .sum();
                if !info.contains("cluster_state:ok") || served != 16_384 {
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    fn node_mut(&mut self, port: u16) -> Result<&mut Node> {
        self.nodes
            .iter_mut()
            .find(|node| node.port == port)
            .ok_or_else(|| TestkitError::NotReady(format!("a redis cluster node on port {port}")))
    }

    /// Starts one cluster-enabled node on fresh client and bus ports and waits until it answers
    /// `PING`; a node that exits first (a port taken by another process) is started again on
    /// new ports, in a fresh directory so no stale `nodes.conf` is reused.
    fn start_node(&self, index: usize) -> Result<Node> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let dir = self.dir.path().join(format!("node-{index}-{attempts}"));
            std::fs::create_dir_all(&dir).map_err(io_err("creating cluster node dir"))?;
            let port = free_port()?;
            // The bus port defaults to port + 10000, which overflows for high ephemeral
            // ports, so we pick a free one explicitly.
            let bus_port = free_port()?;
            let mut child = spawn_node(port, bus_port, &dir, self.options.node_timeout)?;
            match wait_ready(&mut child, port, None, "redis-server (cluster node)") {
                Ok(()) => {
                    return Ok(Node {
                        port,
                        bus_port,
                        dir,
                        child: Some(child),
                    })
                }
                Err(error) => {
                    // Already-exited children make kill fail; nothing to do then.
                    let _ = child.kill();
                    let _ = child.wait();
                    let error = with_log(error, &dir);
                    if !matches!(error, TestkitError::Exited { .. }) || attempts >= START_ATTEMPTS {
                        return Err(error);
                    }
                    tracing::warn!(port, bus_port, %error, "redis cluster node exited, retrying");
                }
            }
        }
    }

    fn create(&self) -> Result<()> {
        let mut args: Vec<String> = vec!["--cluster".into(), "create".into()];
        args.extend(
            self.nodes
                .iter()
                .map(|node| format!("127.0.0.1:{}", node.port)),
        );
        args.extend([
            "--cluster-replicas".into(),
            self.options.replicas_per_master.to_string(),
            "--cluster-yes".into(),
        ]);
        let output = Command::new("redis-cli")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .map_err(spawn_err("redis-cli"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(TestkitError::CommandFailed {
                command: format!("redis-cli {}", args.join(" ")),
                output: combined(&output),
            })
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                // Already-exited children make kill fail; nothing to do then.
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn spawn_node(port: u16, bus_port: u16, dir: &Path, node_timeout: Duration) -> Result<Child> {
    let mut args = base_args(port, dir);
    #[rustfmt::skip]
    let cluster_args = [
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", &node_timeout.as_millis().to_string(),
        "--cluster-port", &bus_port.to_string(),
    ].map(String::from);
    args.extend(cluster_args);
    spawn_redis(&args, dir)
}
