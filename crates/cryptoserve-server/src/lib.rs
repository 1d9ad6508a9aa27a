//! The CryptoServe server: an actix-web application and the `cryptoserve` binary.
//!
//! Layout (one concept per file):
//! - `cli.rs` / `commands.rs`: the command line and what each command does; `backup/`:
//!   `export` and `import`, the MAC-sealed backup file.
//! - `config/`: settings from defaults, file and environment; secrets and development defaults.
//! - `startup.rs`: [`startup::Application`] — `build` (bind, wire) and `run_until_stopped`.
//! - `state.rs`: [`state::AppState`], what handlers can reach.
//! - `auth/`: tokens, the authenticated [`auth::Principal`], identity creation.
//! - `contexts.rs`: context management (create, rotate, configure, delete, auto-rotation),
//!   the one implementation behind the native admin API and the Transit key routes;
//!   `admin_audit.rs`: the audit entry every admin change carries; `audit_log/`: audit rows and
//!   signed checkpoints on the `cryptoserve::audit` log target and in Redis.
//! - `metadata.rs`: cached contexts and revocations; `sync.rs` keeps them and the rate-limit
//!   policies current across instances.
//! - `rate_limit.rs`: policies and headers around the `cryptoserve-ratelimit` crate.
//! - `client_ip.rs`: trusted-proxy aware client addresses.
//! - `routes/`: crypto, admin, health and metrics endpoints, and `routes/transit/`, the
//!   Vault-Transit-compatible API over the same service.
//! - `middleware.rs`: request ids, the one JSON error shape, the request log line and metrics.
//! - `error.rs`: [`error::ApiError`], every error code in one place.
//! - `usage.rs`: crypto usage counters aggregated in memory and written in batches.
//! - `retention.rs`: the periodic purge of expired revocations and old usage rows.
//! - `tls/`: the rustls listener configuration, certificate reload, `tls dev-cert`.
//! - `metrics.rs`, `telemetry.rs`, `lifecycle.rs`, `shutdown.rs`: operations plumbing.
#![forbid(unsafe_code)]

pub mod admin_audit;
pub mod audit_log;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod client_ip;
pub mod commands;
pub mod config;
pub mod contexts;
pub mod error;
pub mod lifecycle;
pub mod metadata;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod rate_limit;
pub mod retention;
pub mod routes;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod usage;
