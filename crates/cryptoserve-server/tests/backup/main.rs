//! Backup and restore with real processes: `cryptoserve export` from PostgreSQL under load,
//! `cryptoserve import` into fresh SQLite and PostgreSQL databases, and what import refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod drill;
mod refusals;
