//! The client against a real `cryptoserve serve` (and, for failures a real server cannot be
//! made to produce on demand, small fake servers on loopback): every method, failover, rate
//! limit waits, admin writes that must not be repeated, and typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod crypto;
mod errors;
mod resilience;
mod support;
