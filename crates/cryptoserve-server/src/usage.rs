//! Crypto usage accounting: per (minute, identity, context, operation, outcome) counters with
//! byte totals, aggregated in memory on the hot path and written in batches — one insert per
//! flush, every few seconds and at shutdown — never one row per request.
//!
//! If the database is unavailable, flushed batches are kept and retried in order. The queue is
//! bounded (`MAX_PENDING_ROWS`); when it is full the oldest batch is dropped, and that is
//! counted in a metric and logged as an error, never silent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
// The keys are a verified identity and an existing context, never free text from a request,
// so the fast seeded hash is enough (the hot path hashes every request's key).
use foldhash::fast::RandomState;
use hashbrown::{Equivalent, HashMap};
use parking_lot::Mutex;

use cryptoserve_store::{Store, UsageRow};

use crate::metrics::Metrics;

/// Most rows kept waiting for the database before the oldest batch is dropped.
pub const MAX_PENDING_ROWS: usize = 100_000;
/// How often counters are flushed.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct UsageKey {
    minute: i64,
    identity: String,
    context: String,
    operation: &'static str,
    outcome: &'static str,
}

/// A [`UsageKey`] borrowed from the request: looks up an existing counter without allocating.
/// Its fields hash exactly as `UsageKey`'s do (`String` hashes as `str`), in the same order.
#[derive(Hash)]
struct UsageKeyRef<'a> {
    minute: i64,
    identity: &'a str,
    context: &'a str,
    operation: &'static str,
    outcome: &'static str,
}

impl Equivalent<UsageKey> for UsageKeyRef<'_> {
    fn equivalent(&self, key: &UsageKey) -> bool {
        self.minute == key.minute
            && self.identity == key.identity
            && self.context == key.context
            && self.operation == key.operation
            && self.outcome == key.outcome
    }
}

impl UsageKeyRef<'_> {
    fn to_owned(&self) -> UsageKey {
        UsageKey {
            minute: self.minute,
            identity: self.identity.to_owned(),
            context: self.context.to_owned(),
            operation: self.operation,
            outcome: self.outcome,
        }
    }
}

/// The outcome of an operation as usage rows and the `crypto_operations` metric spell it.
pub fn outcome(ok: bool) -> &'static str {
    if ok {
        "success"
    } else {
        "failure"
    }
}

/// The in-memory aggregator and its retry queue.
#[derive(Debug, Default)]
pub struct UsageRecorder {
    current: Mutex<HashMap<UsageKey, (u64, u64), RandomState>>,
    pending: tokio::sync::Mutex<VecDeque<Vec<UsageRow>>>,
}

impl UsageRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one operation (hot path: one short lock, no I/O).
    pub fn record(
        &self,
        identity: &str,
        context: &str,
        operation: &'static str,
        ok: bool,
        bytes: usize,
    ) {
        let key = UsageKeyRef {
            minute: Utc::now().timestamp().div_euclid(60),
            identity,
            context,
            operation,
            outcome: outcome(ok),
        };
        let mut current = self.current.lock();
        let entry = match current.get_mut(&key) {
            Some(entry) => entry,
            None => current.entry(key.to_owned()).or_insert((0, 0)),
        };
        entry.0 += 1;
        entry.1 += bytes as u64;
    }

    /// Rows waiting for the database (for the queue-depth metric).
    pub async fn pending_rows(&self) -> usize {
        self.pending.lock().await.iter().map(Vec::len).sum()
    }

    /// Moves the current counters into the queue and writes every queued batch, oldest
    /// first. Stops at the first failure (the rest stays queued). Returns rows written.
    pub async fn flush(&self, store: &Store, metrics: &Metrics) -> usize {
        let drained: Vec<UsageRow> = {
            let mut current = self.current.lock();
            current
                .drain()
                .map(|(key, (count, bytes))| UsageRow {
                    minute: minute_start(key.minute),
                    identity_id: key.identity,
                    context: key.context,
                    operation: key.operation.to_owned(),
                    outcome: key.outcome.to_owned(),
                    count,
                    bytes,
                })
                .collect()
        };
        let mut pending = self.pending.lock().await;
        if !drained.is_empty() {
            pending.push_back(drained);
        }
        let mut queued: usize = pending.iter().map(Vec::len).sum();
        while queued > MAX_PENDING_ROWS {
            let Some(dropped) = pending.pop_front() else {
                break;
            };
            queued -= dropped.len();
            metrics.usage_rows_dropped.inc_by(dropped.len() as u64);
            tracing::error!(
                rows = dropped.len(),
                "usage queue full while the database is unavailable: dropped the oldest batch"
            );
        }
        let mut written = 0;
        while let Some(batch) = pending.front() {
            let started = Instant::now();
            match store.insert_usage_batch(batch).await {
                Ok(()) => {
                    metrics
                        .audit_flush_latency
                        .observe(started.elapsed().as_secs_f64());
                    written += batch.len();
                    pending.pop_front();
                }
                Err(error) => {
                    tracing::warn!(%error, rows = batch.len(), "usage flush failed; will retry");
                    break;
                }
            }
        }
        let depth: usize = pending.iter().map(Vec::len).sum();
        metrics
            .audit_queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        written
    }
}

fn minute_start(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(minute.saturating_mul(60), 0)
        .single()
        .unwrap_or_else(Utc::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_per_key() {
        let recorder = UsageRecorder::new();
        for _ in 0..3 {
            recorder.record("id", "payments", "encrypt", true, 10);
        }
        recorder.record("id", "payments", "decrypt", false, 0);
        let current = recorder.current.lock();
        assert_eq!(current.len(), 2);
        let encrypt = current
            .iter()
            .find(|(k, _)| k.operation == "encrypt")
            .map(|(_, v)| *v);
        assert_eq!(encrypt, Some((3, 30)));
    }
}
