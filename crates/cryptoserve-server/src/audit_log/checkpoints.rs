//! Publishing checkpoints of the audit chain's head, and reading the latest back.
//!
//! One task per instance publishes a checkpoint every minute (the head as the database has
//! it) and after each audit row this instance commits (that row, which was the head when its
//! transaction committed under the write lock). Each goes to the log and, with Redis, to
//! [`REDIS_CHECKPOINT_KEY`] through a compare-and-set that refuses a sequence at or below the
//! stored one, so an instance that lags behind never moves the checkpoint back. Publishing
//! never runs on a request's path: a burst of admin changes wakes the task once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use cryptoserve_api::{AuditCheckpoint, AuditRecord};
use cryptoserve_ratelimit::Limiter;

use super::emit_checkpoint;
use crate::state::AppState;

/// Where the latest checkpoint lives in Redis (a hash: `sequence`, `value` = the JSON).
pub const REDIS_CHECKPOINT_KEY: &str = "cryptoserve:audit:checkpoint";

/// How often a checkpoint is published without admin changes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);

/// Registers for this instance's committed rows and publishes checkpoints until shutdown.
pub async fn publish_checkpoints(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let (head_tx, mut heads) = watch::channel::<Option<(i64, String)>>(None);
    state
        .store
        .observe_audit(Arc::new(move |records: &[AuditRecord]| {
            if let Some(last) = records.last() {
                head_tx.send_replace(Some((last.id, last.mac.clone())));
            }
        }));
    let mut ticker = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let checkpoint = tokio::select! {
            _ = ticker.tick() => match state.store.audit_checkpoint().await {
                Ok(checkpoint) => checkpoint,
                Err(error) => {
                    tracing::warn!(%error, "no audit checkpoint this minute: the database did not answer");
                    None
                }
            },
            changed = heads.changed() => {
                if changed.is_err() { break; }
                let head = heads.borrow_and_update().clone();
                head.map(|(sequence, mac)| state.store.sign_checkpoint(sequence, &mac, chrono::Utc::now()))
            }
            stopped = shutdown.changed() => {
                if stopped.is_err() || *shutdown.borrow() { break; }
                None
            }
        };
        if let Some(checkpoint) = checkpoint {
            publish(&state, &checkpoint).await;
        }
    }
}

async fn publish(state: &AppState, checkpoint: &AuditCheckpoint) {
    emit_checkpoint(checkpoint);
    let Limiter::Redis(redis) = &state.rate_limits.limiter else {
        return;
    };
    let json = match serde_json::to_string(checkpoint) {
        Ok(json) => json,
        Err(error) => {
            tracing::error!(%error, "could not serialise an audit checkpoint");
            return;
        }
    };
    if let Err(error) = redis
        .advance_forward_only(REDIS_CHECKPOINT_KEY, checkpoint.sequence, &json)
        .await
    {
        tracing::warn!(%error, sequence = checkpoint.sequence, "could not store the audit checkpoint in redis");
    }
}

/// The latest checkpoint in Redis; `None` without Redis or before the first one. An
/// unreadable value is an error for the caller to report, not a missing checkpoint.
pub async fn latest_redis_checkpoint(state: &AppState) -> Result<Option<AuditCheckpoint>, String> {
    let Limiter::Redis(redis) = &state.rate_limits.limiter else {
        return Ok(None);
    };
    let value = redis
        .forward_only_value(REDIS_CHECKPOINT_KEY)
        .await
        .map_err(|error| format!("reading the audit checkpoint from redis: {error}"))?;
    value
        .map(|json| {
            serde_json::from_str(&json)
                .map_err(|error| format!("the audit checkpoint in redis is not valid: {error}"))
        })
        .transpose()
}
