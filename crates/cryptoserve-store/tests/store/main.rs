//! Integration tests for the store against real databases. Every scenario runs on a temp-file
//! SQLite database, on a PostgreSQL database and, unless it migrates or imports (which need a
//! direct connection), on PostgreSQL through PgBouncer in transaction mode (see `helpers.rs`
//! for how the servers are shared and cleaned up; `pgbouncer.rs` for what only PgBouncer
//! needs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod audit;
mod audit_tampering;
mod backup;
mod contexts;
mod faults;
mod identities;
mod pgbouncer;
mod rate_limits;
mod retention;
mod schema;
mod usage;
