//! Integration tests for distributed rate limiting (issue 4): exactness across instances
//! sharing Redis (standalone and a 3-master cluster), policy propagation, Redis outages,
//! trusted client IPs, accounting and headers, and the admin API.
//!
//! Every test starts its own servers (real `redis-server` processes on free ports, a fresh
//! SQLite database shared by the instances of one deployment). Tests that put load on the
//! machine or measure propagation times run one at a time (see [`helpers::serial`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod accounting;
mod admin;
mod client_ip;
mod exactness;
mod helpers;
mod load;
mod outage;
mod propagation;
mod transit;
