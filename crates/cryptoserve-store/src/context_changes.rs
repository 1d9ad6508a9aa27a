//! Changes to existing contexts: rotation (manual and scheduled), configuration (version
//! window, deletion, auto-rotation) and deletion.
//!
//! Each runs in one write transaction ([`Store::begin_write`]): the change, the recomputed
//! key-version statuses, the change-counter bump and the audit row land together or not at
//! all. Because every writer on every instance takes the same lock and re-reads the context
//! inside it, a scheduled rotation that three instances notice at once happens exactly once.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use crate::changes::bump_change_counter;
use crate::contexts::{find_context, validate_attributes, ContextAttributes, ContextRecord};
use crate::entity::{contexts, key_versions};
use crate::error::{Result, StoreError};
use crate::key_versions::{apply_statuses, insert_version};
use crate::{AuditEntry, AuditOutcome, Store};

/// A configuration change; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextConfig {
    /// Oldest version accepted for decryption (1..=current).
    pub min_decryption_version: Option<i32>,
    /// Oldest version encryption may name (0 = none, else min_decryption..=current).
    pub min_encryption_version: Option<i32>,
    /// Whether the context may be deleted.
    pub deletion_allowed: Option<bool>,
    /// Auto-rotation period in seconds (0 = never, else ≥ 3600).
    pub auto_rotate_period_secs: Option<i64>,
}

impl Store {
    /// Adds version `current + 1` as `active`; the previous current becomes `decrypt_only`.
    pub async fn rotate_context(
        &self,
        name: &str,
        master_key_id: &str,
        audit: AuditEntry,
    ) -> Result<ContextRecord> {
        let txn = self.begin_write().await?;
        let context = find_context(&txn, name).await?;
        let now = Utc::now().trunc_subsecs(6);
        let updated = self
            .rotate_locked(&txn, context, master_key_id, now, &audit)
            .await?;
        self.commit_write(txn).await?;
        ContextRecord::try_from(updated)
    }

    /// Rotates `name` if its auto-rotation period has passed since its current version was
    /// created, and returns the new record; `None` if it is not due (or no longer exists).
    /// Safe to call from every instance at once: the check runs again under the write lock,
    /// so only the first caller rotates.
    pub async fn rotate_context_if_due(
        &self,
        name: &str,
        master_key_id: &str,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<Option<ContextRecord>> {
        let txn = self.begin_write().await?;
        let context = match find_context(&txn, name).await {
            Ok(context) => context,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        if context.auto_rotate_period_secs <= 0 {
            return Ok(None);
        }
        let current = key_versions::Entity::find()
            .filter(key_versions::Column::ContextName.eq(name))
            .filter(key_versions::Column::Version.eq(context.current_version))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("context `{name}` has no current key version row"))
            })?;
        if current.created_at + Duration::seconds(context.auto_rotate_period_secs) > now {
            return Ok(None);
        }
        // The new version is dated by the scheduler's clock, so the next deadline is one
        // period after this one, whoever checks it.
        let updated = self
            .rotate_locked(&txn, context, master_key_id, now.trunc_subsecs(6), &audit)
            .await?;
        self.commit_write(txn).await?;
        Ok(Some(ContextRecord::try_from(updated)?))
    }

    async fn rotate_locked(
        &self,
        txn: &impl ConnectionTrait,
        context: contexts::Model,
        master_key_id: &str,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<contexts::Model> {
        let name = context.name.clone();
        let next = context.current_version + 1;
        insert_version(txn, &name, next, master_key_id, now).await?;
        let min = context.min_decryption_version;
        let mut active: contexts::ActiveModel = context.into();
        active.current_version = Set(next);
        active.updated_at = Set(now);
        let updated = active.update(txn).await?;
        self.finish_change(txn, &name, next, min, audit).await?;
        Ok(updated)
    }

    /// Sets the oldest version accepted for decryption; versions below it become `retired`
    /// (and, if the minimum is lowered again, come back as `decrypt_only`).
    /// `Conflict` unless `1 <= version <= current_version`.
    pub async fn set_min_decryption_version(
        &self,
        name: &str,
        version: i32,
        audit: AuditEntry,
    ) -> Result<ContextRecord> {
        let config = ContextConfig {
            min_decryption_version: Some(version),
            ..ContextConfig::default()
        };
        self.configure_context(name, config, audit).await
    }

    /// Applies a configuration change. `Conflict` if the resulting version window is
    /// impossible (messages as Vault words them, since Transit clients show them);
    /// `InvalidInput` for an unusable auto-rotation period.
    pub async fn configure_context(
        &self,
        name: &str,
        config: ContextConfig,
        audit: AuditEntry,
    ) -> Result<ContextRecord> {
        let txn = self.begin_write().await?;
        let context = find_context(&txn, name).await?;
        let latest = context.current_version;
        let min_dec = config
            .min_decryption_version
            .unwrap_or(context.min_decryption_version);
        let min_enc = config
            .min_encryption_version
            .unwrap_or(context.min_encryption_version);
        if min_dec < 1 || min_dec > latest {
            return Err(StoreError::Conflict(format!(
                "cannot set min decryption version of {min_dec}, latest key version is {latest}"
            )));
        }
        if min_enc < 0 || min_enc > latest {
            return Err(StoreError::Conflict(format!(
                "cannot set min encryption version of {min_enc}, latest key version is {latest}"
            )));
        }
        if min_enc > 0 && min_enc < min_dec {
            return Err(StoreError::Conflict(format!(
                "cannot set min encryption/decryption values; min encryption version of \
                 {min_enc} must be greater than or equal to min decryption version of {min_dec}"
            )));
        }
        let attributes = ContextAttributes {
            derived: context.derived,
            convergent: context.convergent,
            deletion_allowed: config.deletion_allowed.unwrap_or(context.deletion_allowed),
            auto_rotate_period_secs: config
                .auto_rotate_period_secs
                .unwrap_or(context.auto_rotate_period_secs),
        };
        validate_attributes(&attributes)?;
        let mut active: contexts::ActiveModel = context.into();
        active.min_decryption_version = Set(min_dec);
        active.min_encryption_version = Set(min_enc);
        active.deletion_allowed = Set(attributes.deletion_allowed);
        active.auto_rotate_period_secs = Set(attributes.auto_rotate_period_secs);
        active.updated_at = Set(Utc::now().trunc_subsecs(6));
        let updated = active.update(&txn).await?;
        self.finish_change(&txn, name, latest, min_dec, &audit)
            .await?;
        self.commit_write(txn).await?;
        ContextRecord::try_from(updated)
    }

    /// Deletes a context and its key-version rows. `Conflict` unless `deletion_allowed` was
    /// set first; `NotFound` if there is no such context. Ciphertext of a deleted context
    /// never opens again, even under a re-created context of the same name: the new one gets
    /// a new generation id, hence new keys.
    pub async fn delete_context(&self, name: &str, audit: AuditEntry) -> Result<()> {
        let txn = self.begin_write().await?;
        let context = find_context(&txn, name).await?;
        if !context.deletion_allowed {
            return Err(StoreError::Conflict(
                "deletion is not allowed for this key".into(),
            ));
        }
        key_versions::Entity::delete_many()
            .filter(key_versions::Column::ContextName.eq(name))
            .exec(&txn)
            .await?;
        contexts::Entity::delete_by_id(context.id)
            .exec(&txn)
            .await?;
        bump_change_counter(&txn).await?;
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        self.commit_write(txn).await?;
        Ok(())
    }

    /// Names of contexts with auto-rotation on (the scheduler checks each).
    pub async fn auto_rotating_contexts(&self) -> Result<Vec<String>> {
        let txn = self.begin().await?;
        let rows = contexts::Entity::find()
            .filter(contexts::Column::AutoRotatePeriodSecs.gt(0))
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(|row| row.name).collect())
    }

    /// Recomputes statuses, bumps the counter and audits.
    async fn finish_change(
        &self,
        txn: &impl ConnectionTrait,
        name: &str,
        current: i32,
        min: i32,
        audit: &AuditEntry,
    ) -> Result<()> {
        apply_statuses(txn, name, current, min).await?;
        bump_change_counter(txn).await?;
        self.append_audit(txn, audit, AuditOutcome::Success).await?;
        Ok(())
    }
}
