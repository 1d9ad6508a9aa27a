//! `cs` end to end: the real binary (`CARGO_BIN_EXE_cs`) against a real `cryptoserve serve`
//! on a free loopback port with a fresh data directory. Files of 200 MiB round trip in bounded
//! memory; tampered, truncated, reordered and mixed files are refused and leave nothing at
//! `--out`; stdin/stdout are binary-safe; JSON output parses; exit codes match the
//! documentation; every admin command round trips; TLS works with `--cacert` and client
//! certificates, and certificate failures exit 6 with one line naming the problem.
//! `parsing.rs` feeds arbitrary bytes to the file reader in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod data;
mod exit_codes;
mod files;
mod parsing;
mod support;
mod tls;
