//! Per-minute usage counters. The server aggregates operations in memory and flushes them in
//! batches, so writes are one multi-row `INSERT` per flush rather than one per operation.
//! Rows are append-only: the same (minute, identity, context, operation, outcome) may appear
//! several times (one per instance and flush) and readers sum them.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::usage_counters;
use crate::error::{Result, StoreError};
use crate::Store;

pub use cryptoserve_api::UsageRow;

/// Rows per `INSERT`: 7 bind parameters each keeps us below PostgreSQL's 65 535 and SQLite's
/// 32 766 parameter limits. Larger batches become several statements in one transaction.
const ROWS_PER_STATEMENT: usize = 4000;

impl Store {
    /// Appends a batch of counters atomically.
    pub async fn insert_usage_batch(&self, rows: &[UsageRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let models = rows.iter().map(to_active).collect::<Result<Vec<_>>>()?;
        let txn = self.begin().await?;
        for chunk in models.chunks(ROWS_PER_STATEMENT) {
            usage_counters::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stored counters, optionally filtered, oldest minute first.
    pub async fn query_usage(
        &self,
        context: Option<&str>,
        identity: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<UsageRow>> {
        let mut query = usage_counters::Entity::find()
            .order_by_asc(usage_counters::Column::Minute)
            .order_by_asc(usage_counters::Column::Id);
        if let Some(context) = context {
            query = query.filter(usage_counters::Column::Context.eq(context));
        }
        if let Some(identity) = identity {
            query = query.filter(usage_counters::Column::IdentityId.eq(identity));
        }
        if let Some(since) = since {
            query = query.filter(usage_counters::Column::Minute.gte(since));
        }
        let txn = self.begin().await?;
        let rows = query.all(&txn).await?;
        txn.commit().await?;
        rows.into_iter().map(from_model).collect()
    }
}

fn to_active(row: &UsageRow) -> Result<usage_counters::ActiveModel> {
    let to_i64 = |value: u64| {
        i64::try_from(value).map_err(|_| StoreError::InvalidInput("usage counter overflow".into()))
    };
    let minute = row
        .minute
        .duration_trunc(TimeDelta::minutes(1))
        .map_err(|error| StoreError::InvalidInput(format!("usage minute: {error}")))?;
    Ok(usage_counters::ActiveModel {
        minute: Set(minute),
        identity_id: Set(row.identity_id.clone()),
        context: Set(row.context.clone()),
        operation: Set(row.operation.clone()),
        outcome: Set(row.outcome.clone()),
        count: Set(to_i64(row.count)?),
        bytes: Set(to_i64(row.bytes)?),
        ..Default::default()
    })
}

fn from_model(row: usage_counters::Model) -> Result<UsageRow> {
    let to_u64 = |value: i64| {
        u64::try_from(value)
            .map_err(|_| StoreError::Corrupt(format!("negative usage counter in row {}", row.id)))
    };
    Ok(UsageRow {
        count: to_u64(row.count)?,
        bytes: to_u64(row.bytes)?,
        minute: row.minute,
        identity_id: row.identity_id,
        context: row.context,
        operation: row.operation,
        outcome: row.outcome,
    })
}
