//! Rate-limit policy overrides stored in the database, so admins can change limits at
//! runtime on every instance. A policy is identified by (scope, dimension, key); `key` is
//! empty for `default` scope. Mutations bump the change counter so instances reload.

use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::changes::bump_change_counter;
use crate::entity::rate_limit_policies;
use crate::error::{Result, StoreError};
use crate::{AuditEntry, AuditOutcome, Store};
use crate::{RateLimitDimension, RateLimitScope};

pub use cryptoserve_api::RateLimitPolicyRecord;

impl Store {
    /// All policies, ordered by scope, dimension and key.
    pub async fn list_rate_limit_policies(&self) -> Result<Vec<RateLimitPolicyRecord>> {
        let txn = self.begin().await?;
        let rows = rate_limit_policies::Entity::find()
            .order_by_asc(rate_limit_policies::Column::Scope)
            .order_by_asc(rate_limit_policies::Column::Dimension)
            .order_by_asc(rate_limit_policies::Column::Key)
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter()
            .map(RateLimitPolicyRecord::try_from)
            .collect()
    }

    /// Creates or replaces the policy for (scope, dimension, key).
    #[allow(clippy::too_many_arguments)] // mirrors the admin API's fields one to one
    pub async fn upsert_rate_limit_policy(
        &self,
        scope: RateLimitScope,
        dimension: RateLimitDimension,
        key: &str,
        requests_per_minute: u32,
        burst_size: u32,
        enabled: bool,
        audit: AuditEntry,
    ) -> Result<RateLimitPolicyRecord> {
        let to_column = |value: u32, what: &str| {
            i32::try_from(value)
                .map_err(|_| StoreError::InvalidInput(format!("{what} is too large")))
        };
        let requests_per_minute = to_column(requests_per_minute, "requests_per_minute")?;
        let burst_size = to_column(burst_size, "burst_size")?;
        let txn = self.begin_write().await?;
        let existing = rate_limit_policies::Entity::find()
            .filter(rate_limit_policies::Column::Scope.eq(scope.as_str()))
            .filter(rate_limit_policies::Column::Dimension.eq(dimension.as_str()))
            .filter(rate_limit_policies::Column::Key.eq(key))
            .one(&txn)
            .await?;
        let mut active = match existing {
            Some(row) => rate_limit_policies::ActiveModel::from(row),
            None => rate_limit_policies::ActiveModel {
                scope: Set(scope.as_str().to_owned()),
                dimension: Set(dimension.as_str().to_owned()),
                key: Set(key.to_owned()),
                ..Default::default()
            },
        };
        active.requests_per_minute = Set(requests_per_minute);
        active.burst_size = Set(burst_size);
        active.enabled = Set(enabled);
        active.updated_at = Set(Utc::now().trunc_subsecs(6));
        let saved = active.save(&txn).await?;
        let saved = rate_limit_policies::Model::try_from(saved)?;
        bump_change_counter(&txn).await?;
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        self.commit_write(txn).await?;
        RateLimitPolicyRecord::try_from(saved)
    }

    /// Deletes the policy; returns whether one existed. The audit row is written either way.
    pub async fn delete_rate_limit_policy(
        &self,
        scope: RateLimitScope,
        dimension: RateLimitDimension,
        key: &str,
        audit: AuditEntry,
    ) -> Result<bool> {
        let txn = self.begin_write().await?;
        let deleted = rate_limit_policies::Entity::delete_many()
            .filter(rate_limit_policies::Column::Scope.eq(scope.as_str()))
            .filter(rate_limit_policies::Column::Dimension.eq(dimension.as_str()))
            .filter(rate_limit_policies::Column::Key.eq(key))
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
        if deleted {
            bump_change_counter(&txn).await?;
        }
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        self.commit_write(txn).await?;
        Ok(deleted)
    }
}

impl TryFrom<rate_limit_policies::Model> for RateLimitPolicyRecord {
    type Error = StoreError;
    fn try_from(row: rate_limit_policies::Model) -> Result<Self> {
        let to_u32 = |value: i32| {
            u32::try_from(value).map_err(|_| {
                StoreError::Corrupt(format!("negative limit in rate-limit policy {}", row.id))
            })
        };
        Ok(RateLimitPolicyRecord {
            scope: RateLimitScope::parse(&row.scope)?,
            dimension: RateLimitDimension::parse(&row.dimension)?,
            requests_per_minute: to_u32(row.requests_per_minute)?,
            burst_size: to_u32(row.burst_size)?,
            key: row.key,
            enabled: row.enabled,
            updated_at: row.updated_at,
        })
    }
}
