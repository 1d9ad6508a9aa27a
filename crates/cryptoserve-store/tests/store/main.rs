//! Integration tests for the store against real databases. Every scenario runs twice, on a
//! temp-file SQLite database and on a PostgreSQL database (see `helpers.rs` for how the
//! PostgreSQL server is shared and cleaned up).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod audit;
mod audit_tampering;
mod backup;
mod contexts;
mod faults;
mod identities;
mod rate_limits;
mod retention;
mod schema;
mod usage;
