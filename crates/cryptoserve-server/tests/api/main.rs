//! Integration tests over HTTP: the real application on port 0 (and the real binary where it
//! matters). Scenarios that touch the database run on SQLite, on PostgreSQL, and on
//! PostgreSQL through PgBouncer in transaction mode; see `helpers.rs` for how the servers are
//! shared by concurrent tests and stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod admin;
mod audit;
mod audit_checkpoints;
mod auth;
mod binary;
mod cluster;
mod crypto;
mod errors;
mod outage;
mod pgbouncer;
mod request_id;
mod rotation;
mod transit;
