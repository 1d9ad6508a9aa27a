//! Retention: deleting rows that can no longer matter.
//!
//! - A revoked token whose expiry has passed is refused anyway (its `exp` is in the past), so
//!   its `revoked_tokens` row only costs space. The caller passes a cutoff that includes the
//!   token verifier's clock leeway, so a row never goes while its token could still pass.
//! - `usage_counters` rows older than the configured retention are history nobody keeps.
//!
//! Both purges are a loop of `DELETE ... WHERE <key> IN (SELECT <key> ... WHERE <old> LIMIT n)`,
//! each statement its own short transaction. That makes them safe to run on every instance at
//! once, with no coordination:
//! - **Idempotent.** The condition names only rows that are already useless and stay useless
//!   (time only moves forward), so deleting them twice, or concurrently, deletes nothing more.
//!   Two instances that pick the same rows both issue the delete; the database deletes each row
//!   once and reports it to one of them, so the counts summed over the cluster are exact.
//! - **Bounded.** One statement touches at most `batch` rows, so no run holds locks (SQLite's
//!   single write lock included) long enough to stall the usage flushes or admin writes; the
//!   loop stops at the first batch that is not full.
//! - **Outside the audit lock.** Purges are housekeeping, not admin changes: they take neither
//!   the store-wide write lock nor write an audit row, and they do not bump the change counter
//!   (the server's caches only ever hold unexpired revocations).
//!
//! "Now" is a parameter, so tests shorten time instead of waiting for it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entity::{revoked_tokens, usage_counters};
use crate::error::{Result, StoreError};
use crate::Store;

/// Rows per `DELETE` when the caller does not say: small enough that one statement is a few
/// milliseconds, large enough that a backlog of millions clears in one run.
pub const DEFAULT_PURGE_BATCH: u64 = 1000;

impl Store {
    /// Deletes revoked-token rows whose token expired before `expired_before`, `batch` rows per
    /// statement; returns how many rows this call deleted.
    pub async fn purge_expired_revoked_tokens(
        &self,
        expired_before: DateTime<Utc>,
        batch: u64,
    ) -> Result<u64> {
        self.purge_in_batches::<revoked_tokens::Entity>(
            revoked_tokens::Column::Jti,
            revoked_tokens::Column::ExpiresAt.lt(expired_before),
            batch,
        )
        .await
    }

    /// Deletes usage rows whose minute is before `older_than`, `batch` rows per statement;
    /// returns how many rows this call deleted.
    pub async fn purge_usage_before(&self, older_than: DateTime<Utc>, batch: u64) -> Result<u64> {
        self.purge_in_batches::<usage_counters::Entity>(
            usage_counters::Column::Id,
            usage_counters::Column::Minute.lt(older_than),
            batch,
        )
        .await
    }

    /// The one purge loop: `DELETE FROM E WHERE key IN (SELECT key FROM E WHERE old LIMIT
    /// batch)` until a statement deletes less than a full batch.
    async fn purge_in_batches<E: EntityTrait + Default>(
        &self,
        key: E::Column,
        old: SimpleExpr,
        batch: u64,
    ) -> Result<u64> {
        let batch = check_batch(batch)?;
        let mut total = 0;
        loop {
            let doomed = Query::select()
                .column(key)
                .from(E::default())
                .and_where(old.clone())
                .limit(batch)
                .to_owned();
            let txn = self.begin().await?;
            let deleted = E::delete_many()
                .filter(key.in_subquery(doomed))
                .exec(&txn)
                .await?
                .rows_affected;
            txn.commit().await?;
            total += deleted;
            if deleted < batch {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}

/// A zero batch would delete nothing and loop forever.
fn check_batch(batch: u64) -> Result<u64> {
    if batch == 0 {
        return Err(StoreError::InvalidInput(
            "purge batch must be at least one row".to_owned(),
        ));
    }
    Ok(batch)
}
