//! The CryptoServe load benchmark: start the real server in three setups, drive it with `wrk`
//! over loopback, and write what it measured to `benches/results/`.
//!
//! How the pieces fit:
//! - `setup.rs`: the three setups ([`setup::SetupKind`]): the embedded default (one
//!   `cryptoserve serve`, SQLite, in-process limiter), the same with Redis, and the
//!   three-backend cluster behind nginx (reusing `cryptoserve_cluster::Cluster`). Each yields a
//!   [`setup::Running`] target that stops everything it started when dropped.
//! - `server.rs`: one embedded `cryptoserve serve` child with an empty environment.
//! - `api.rs`: the few setup calls (context, rate-limit defaults, a ciphertext to decrypt).
//! - `scenario.rs`: what is measured (health, encrypt, decrypt, encrypt 16 KiB, batch).
//! - `wrk.rs`: generated wrk Lua scripts and the parsing of their `done` line.
//! - `procstat.rs`: RSS and CPU time of the server processes, read from `/proc`.
//! - `runner.rs`: warm-up, measured runs, the fixed-rate sweep and start-to-ready timing.
//! - `report.rs`, `plot.rs`, `machine.rs`: the Markdown/JSON report, the latency plot and the
//!   facts about the machine that go in the header.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod machine;
pub mod plot;
pub mod procstat;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod server;
pub mod setup;
pub mod wrk;

pub use error::{BenchError, Result};
