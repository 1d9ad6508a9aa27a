//! The client against a real `cryptoserve serve` (and, for failures a real server cannot be
//! made to produce on demand, small fake servers on loopback): every method, failover, rate
//! limit waits, admin writes that must not be repeated, typed errors, and TLS (trusted,
//! unknown, wrong-host and expired certificates; mutual TLS).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod crypto;
mod errors;
mod resilience;
mod support;
mod tls;
