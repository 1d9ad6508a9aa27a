//! The floor: what a minimal server on our own stack (actix-web, `ring`'s AES-256-GCM, the
//! same allocator and worker count) does on this machine, measured in the same run as
//! CryptoServe, so that "ours ÷ floor" says how much of the stack's speed CryptoServe keeps.
//!
//! - `app.rs`: the floor server (`cryptoserve-floor`, `src/bin/floor.rs`): `GET /live` and
//!   `POST /encrypt`, nothing else: no auth, limits, metrics or logs;
//! - `process.rs`: one floor child, started on a free port, killed when dropped;
//! - `compare.rs`: the runner: our single-server setups beside the floor, in alternating
//!   rounds of the same wrk runs;
//! - `result.rs`: what it measured, ratios and their min / median / max over the rounds;
//! - `report_md.rs`: its section of the Markdown report.
//!
//! The targets against it are checked in `crate::targets`.

pub mod app;
pub mod compare;
pub mod process;
pub mod report_md;
pub mod result;

pub use compare::{FLOOR_ENCRYPT_16K, FLOOR_ENCRYPT_256, FLOOR_LIVE};
pub use result::{Comparison, FloorResult, Spread};
