//! The retention task: every `CRYPTOSERVE_RETENTION_INTERVAL_SECS` (hourly by default, and
//! once right after start) each instance deletes
//! - revoked-token rows whose token expired more than [`REVOKED_TOKEN_GRACE`] ago (such a
//!   token is refused for its `exp` alone, so the row protects nothing), and
//! - usage rows older than `CRYPTOSERVE_USAGE_RETENTION_DAYS` (90; 0 keeps them forever).
//!
//! Every instance runs it and nothing coordinates them, on purpose: each purge is an
//! idempotent `DELETE` of rows that are already useless, in batches of
//! [`DEFAULT_PURGE_BATCH`] rows per statement (see `cryptoserve-store`'s `retention.rs`). Two
//! instances purging at once delete each row once between them, so
//! `cryptoserve_retention_purged_rows_total{table}` summed over the cluster counts each row
//! once; a purge that fails (database down) is logged and tried again at the next interval.
//! A leader election would only add a way to fail.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use cryptoserve_store::{Store, StoreError, DEFAULT_PURGE_BATCH};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::state::AppState;

/// How long a revoked-token row outlives its token's `exp`: well past the verifier's 30 s
/// clock leeway, with room for clock skew between instances.
pub const REVOKED_TOKEN_GRACE: TimeDelta = TimeDelta::minutes(10);

/// Metric label values, which are also the table names.
const REVOKED_TOKENS: &str = "revoked_tokens";
const USAGE_COUNTERS: &str = "usage_counters";

/// What one run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Expired revoked-token rows.
    pub revoked_tokens: u64,
    /// Usage rows past retention.
    pub usage_rows: u64,
}

/// Purges every `state.settings.retention_interval()` until shutdown, starting at once.
pub async fn run(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.settings.retention_interval());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let retention_days = state.settings.usage_retention_days;
                // Failures are logged inside; the next tick tries again.
                let _ = purge_once(&state.store, &state.metrics, retention_days, Utc::now()).await;
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
        }
    }
}

/// One run as of `now`: purges both tables, counts and logs what went. Each table is tried even
/// when the other fails; the first failure is returned.
pub async fn purge_once(
    store: &Store,
    metrics: &Metrics,
    usage_retention_days: u64,
    now: DateTime<Utc>,
) -> Result<Purged, StoreError> {
    let mut purged = Purged::default();
    let mut failure = None;
    let revoked = store
        .purge_expired_revoked_tokens(now - REVOKED_TOKEN_GRACE, DEFAULT_PURGE_BATCH)
        .await;
    match revoked {
        Ok(rows) => purged.revoked_tokens = count(metrics, REVOKED_TOKENS, rows),
        Err(error) => failure = Some(warn(REVOKED_TOKENS, error)),
    }
    if let Some(cutoff) = usage_cutoff(now, usage_retention_days) {
        match store.purge_usage_before(cutoff, DEFAULT_PURGE_BATCH).await {
            Ok(rows) => purged.usage_rows = count(metrics, USAGE_COUNTERS, rows),
            Err(error) => failure = failure.or(Some(warn(USAGE_COUNTERS, error))),
        }
    }
    tracing::info!(
        revoked_tokens = purged.revoked_tokens,
        usage_rows = purged.usage_rows,
        usage_retention_days,
        "retention purge"
    );
    match failure {
        Some(error) => Err(error),
        None => Ok(purged),
    }
}

/// Usage rows before this go; `None` keeps them all (0 days, or more days than the calendar
/// can subtract).
fn usage_cutoff(now: DateTime<Utc>, retention_days: u64) -> Option<DateTime<Utc>> {
    if retention_days == 0 {
        return None;
    }
    let days = TimeDelta::try_days(i64::try_from(retention_days).ok()?)?;
    now.checked_sub_signed(days)
}

fn count(metrics: &Metrics, table: &str, rows: u64) -> u64 {
    metrics
        .retention_purged_rows
        .with_label_values(&[table])
        .inc_by(rows);
    rows
}

fn warn(table: &str, error: StoreError) -> StoreError {
    tracing::warn!(table, %error, "retention purge failed; retrying at the next interval");
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_days_keeps_usage_forever_and_huge_values_do_not_overflow() {
        let now = Utc::now();
        assert_eq!(usage_cutoff(now, 0), None);
        assert_eq!(usage_cutoff(now, 90), Some(now - TimeDelta::days(90)));
        assert_eq!(usage_cutoff(now, u64::MAX), None);
        assert_eq!(usage_cutoff(now, 1 << 40), None);
    }
}
