//! The audit log outside the database: every committed audit row and a signed checkpoint of
//! the chain's head, each as one JSON line on the log target [`AUDIT_LOG_TARGET`]
//! (`cryptoserve::audit`), and the latest checkpoint in Redis when it is configured.
//!
//! - `mod.rs`: the lines themselves ([`emit_record`], [`emit_checkpoint`]) and the store
//!   observer that emits a row's line once its transaction committed ([`feed_committed_rows`]).
//!   Each instance emits the rows it wrote, so a log pipeline collecting every instance sees
//!   each row once.
//! - `layer.rs`: the tracing layer that prints these events as self-contained JSON lines
//!   (in both log formats), so a shipper can route them by `target` alone.
//! - `checkpoints.rs`: the task that publishes a checkpoint every minute and after each admin
//!   change, and reading the latest one back from Redis for `audit verify`.
//!
//! A log shipper's copy of the checkpoints is what proves, later, that the newest rows were
//! not deleted: the chain itself cannot show a clean truncation (`docs/operations/audit.md`).

mod checkpoints;
mod layer;

use std::sync::Arc;

use cryptoserve_api::{AuditCheckpoint, AuditRecord};
use cryptoserve_store::Store;
use serde::Serialize;

pub use checkpoints::{latest_redis_checkpoint, publish_checkpoints, REDIS_CHECKPOINT_KEY};
pub use layer::{is_audit_event, AuditLineLayer};

/// The log target of audit lines; `RUST_LOG=...,cryptoserve::audit=off` would drop them.
pub const AUDIT_LOG_TARGET: &str = "cryptoserve::audit";

/// One audit row as the SIEM feed shows it: the stored row, with `details` parsed back into
/// JSON so a SIEM can query its fields.
#[derive(Debug, Serialize)]
struct RecordLine<'a> {
    id: i64,
    at: &'a chrono::DateTime<chrono::Utc>,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    outcome: &'a str,
    request_id: &'a str,
    client_ip: &'a str,
    details: Option<serde_json::Value>,
    prev_mac: &'a str,
    mac: &'a str,
}

/// Emits one committed audit row on [`AUDIT_LOG_TARGET`].
pub fn emit_record(record: &AuditRecord) {
    let line = RecordLine {
        id: record.id,
        at: &record.at,
        actor: &record.actor,
        action: &record.action,
        target: &record.target,
        outcome: &record.outcome,
        request_id: &record.request_id,
        client_ip: &record.client_ip,
        details: record.details.as_deref().map(|details| {
            serde_json::from_str(details)
                .unwrap_or_else(|_| serde_json::Value::String(details.to_owned()))
        }),
        prev_mac: &record.prev_mac,
        mac: &record.mac,
    };
    emit("record", &line);
}

/// Emits a checkpoint on [`AUDIT_LOG_TARGET`].
pub fn emit_checkpoint(checkpoint: &AuditCheckpoint) {
    emit("checkpoint", checkpoint);
}

fn emit(kind: &'static str, payload: &impl Serialize) {
    match serde_json::to_string(payload) {
        Ok(payload) => {
            tracing::info!(target: AUDIT_LOG_TARGET, kind, payload = payload.as_str());
        }
        Err(error) => tracing::error!(%error, kind, "could not serialise an audit line"),
    }
}

/// Makes `store` emit every audit row it commits (the SIEM feed). Every handle the binary
/// opens does this, so rows written by offline commands are fed too.
pub fn feed_committed_rows(store: &Store) {
    store.observe_audit(Arc::new(|records: &[AuditRecord]| {
        for record in records {
            emit_record(record);
        }
    }));
}
