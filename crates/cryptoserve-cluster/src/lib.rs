//! A local CryptoServe cluster made of plain processes on loopback: the same topology as
//! `docker-compose.scale.yml` (PostgreSQL, Redis, N `cryptoserve serve --no-migrate` backends
//! and nginx running the repository's `nginx.scale.conf`), for machines without a container
//! engine, for the `cryptoserve-cluster` binary and for the fault drills in `tests/drills.rs`
//! (and `tests/redis_failover.rs`, on a Redis Cluster with replicas).
//!
//! TLS runs on every hop, as in production: clients → nginx over TLS, nginx → backends over
//! mutual TLS, all certificates from one development CA (`cryptoserve tls dev-cert`).
//!
//! How the pieces fit:
//! - `cluster.rs`: [`Cluster::up`] starts everything in dependency order and owns every
//!   process (`cluster/options.rs`: [`ClusterOptions`] and the shared environment;
//!   `cluster/redis.rs`: [`RedisTopology`], standalone Redis or a Redis Cluster with replicas,
//!   and its faults: restart Redis, kill the master serving a key; `cluster/faults.rs`: the
//!   other faults the drills inject: kill, terminate, scale, stop PostgreSQL;
//!   `cluster/rolling.rs`: environment changes and rolling restarts, for secret rotation).
//!   Dropping it tears everything down.
//! - `backend.rs`: one `cryptoserve serve` child process with its environment, TLS and ops
//!   ports, and log file.
//! - `tls.rs`: the certificates, generated with `cryptoserve tls dev-cert` or brought by the
//!   caller.
//! - `secrets.rs`: the shared secrets, generated once with `cryptoserve keygen`.
//! - `probe.rs`: a tiny blocking HTTP GET for readiness checks (no async runtime needed).
//! - `process.rs`: signals (through the `kill` command, so the crate needs no `unsafe`) and
//!   PID liveness.
//! - `state.rs`: the state file that lets `cryptoserve-cluster down` stop, by PID, a cluster
//!   whose `up` was backgrounded or lost.
#![forbid(unsafe_code)]

mod backend;
mod cluster;
mod error;
pub mod probe;
pub mod process;
mod secrets;
pub mod state;
pub mod tls;

pub use backend::Backend;
pub use cluster::{Cluster, ClusterOptions, RedisTopology};
pub use error::{ClusterError, Result};
pub use secrets::Secrets;
pub use tls::ClusterTls;
