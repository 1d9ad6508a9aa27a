//! CryptoServe's metadata store: contexts and key versions, identities and revoked tokens,
//! rate-limit policies, a tamper-evident admin audit log and usage counters, on PostgreSQL
//! (production, shared by all instances) or SQLite (single instance). It holds metadata
//! only — key fingerprints, never key material.
//!
//! Everything is a method on [`Store`], returning plain records (never sea-orm models).
//!
//! Layout:
//! - `connect.rs`: [`Store`], pool settings, migrate/ping/pool status; `database_url.rs`
//!   picks the backend from the URL.
//! - `transactions.rs`: every statement runs in a transaction (so the store works through
//!   PgBouncer in transaction mode), and the store-wide write lock every mutation takes,
//!   which keeps the audit chain linear across instances.
//! - `contexts.rs` (records, create, read), `context_changes.rs` (rotate, configure, delete,
//!   auto-rotation) and `key_versions.rs` (version rows and their status rule), `identities.rs`, `rate_limits.rs`, `usage.rs`: one repository each;
//!   `retention.rs`: purging expired revocations and old usage rows.
//! - `audit.rs` and `audit_key.rs`: the HMAC-chained audit log and its key; `audit_verify.rs`:
//!   verification against checkpoints, with truncation, rewriting, gaps and reordering told
//!   apart; `audit_feed.rs`: committed rows handed to an observer (the server's SIEM feed).
//! - `backup.rs`: every table read in one snapshot and written back (`cryptoserve export` /
//!   `import`).
//! - `changes.rs`: the change counter other instances poll to know when to reload caches.
//! - The records and the enums stored as text (algorithm, key status, role, ...) are the API's
//!   wire types, defined once in `cryptoserve-api` and re-exported here.
//! - `entity/` and `migration/`: sea-orm tables and the schema, one file per table/migration.
//!
//! Mutations that take an [`AuditEntry`] write it in their own transaction, so an audit row
//! exists exactly when the change does.
#![forbid(unsafe_code)]

mod audit;
mod audit_feed;
mod audit_key;
mod audit_verify;
mod backup;
mod changes;
mod connect;
mod context_changes;
mod contexts;
mod database_url;
mod entity;
mod error;
mod identities;
mod key_versions;
pub mod migration;
mod rate_limits;
mod retention;
mod transactions;
mod usage;

pub use audit::{AuditEntry, AuditOutcome, AuditRecord, AuditVerification};
pub use audit_feed::AuditObserver;
pub use audit_key::{AuditKey, GENESIS_MAC};
pub use backup::{
    knows_schema, schema_version, BackupTables, ImportMode, ImportSummary, EXPORTED_TABLES,
    NOT_EXPORTED_TABLES,
};
pub use connect::{PoolSettings, PoolStatus, Store};
pub use context_changes::ContextConfig;
pub use contexts::{ContextAttributes, ContextRecord, NewContext};
pub use cryptoserve_api::{Algorithm, KeyStatus, RateLimitDimension, RateLimitScope, Role};
pub use cryptoserve_api::{
    AuditCheckpoint, AuditProblem, AuditProblemKind, CheckedCheckpoint, CheckpointSource,
};
pub use database_url::{normalise_database_url, Backend};
pub use error::{Result, StoreError};
pub use identities::{IdentityRecord, NewIdentity, ALL_CONTEXTS};
pub use key_versions::KeyVersionRecord;
pub use rate_limits::RateLimitPolicyRecord;
pub use retention::DEFAULT_PURGE_BATCH;
pub use usage::UsageRow;
