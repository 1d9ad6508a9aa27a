//! Encryption contexts and their key versions.
//!
//! A context encrypts with `current_version` and decrypts anything from
//! `min_decryption_version` up. Each version's status follows from those two numbers:
//! the current one is `active`, older ones still accepted are `decrypt_only`, and those below
//! the minimum are `retired`. Every mutation recomputes the statuses from that rule, bumps
//! the change counter and appends its audit row in the same transaction.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;

use crate::changes::bump_change_counter;
use crate::entity::{contexts, key_versions};
use crate::error::{Result, StoreError};
use crate::key_versions::{apply_statuses, insert_version};
use crate::vocabulary::{Algorithm, KeyStatus};
use crate::{AuditEntry, AuditOutcome, Store};

const KIND: &str = "context";
/// Matches the `contexts.name` column width.
const MAX_NAME_LEN: usize = 64;

/// What the server needs to create a context; key bytes never reach the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewContext {
    /// Unique name clients refer to.
    pub name: String,
    /// Free text for operators.
    pub description: String,
    /// AEAD used for this context's data.
    pub algorithm: Algorithm,
    /// Fingerprint of the master key version 1 derives from.
    pub master_key_id: String,
}

/// A context as the server caches it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextRecord {
    /// Unique name.
    pub name: String,
    /// Free text for operators.
    pub description: String,
    /// AEAD used for this context's data.
    pub algorithm: Algorithm,
    /// Version new ciphertexts are written with.
    pub current_version: i32,
    /// Oldest version still accepted for decryption.
    pub min_decryption_version: i32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last rotation or policy change.
    pub updated_at: DateTime<Utc>,
}

/// One key version of a context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyVersionRecord {
    /// Owning context.
    pub context_name: String,
    /// Version number, from 1.
    pub version: i32,
    /// Fingerprint of the master key this version derives from.
    pub master_key_id: String,
    /// What the version may be used for.
    pub status: KeyStatus,
    /// When the version was created.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Creates a context with key version 1 (`active`). `AlreadyExists` if the name is taken.
    pub async fn create_context(
        &self,
        new: NewContext,
        audit: AuditEntry,
    ) -> Result<ContextRecord> {
        if new.name.is_empty() || new.name.len() > MAX_NAME_LEN {
            return Err(StoreError::InvalidInput(format!(
                "context name must be 1 to {MAX_NAME_LEN} bytes"
            )));
        }
        let txn = self.begin_write().await?;
        if find_context(&txn, &new.name).await.is_ok() {
            return Err(already_exists(&new.name));
        }
        let now = Utc::now().trunc_subsecs(6);
        let created = contexts::ActiveModel {
            name: Set(new.name.clone()),
            description: Set(new.description),
            algorithm: Set(new.algorithm.as_str().to_owned()),
            current_version: Set(1),
            min_decryption_version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|error| unique_violation_as_exists(error, &new.name))?;
        insert_version(&txn, &new.name, 1, &new.master_key_id, now).await?;
        bump_change_counter(&txn).await?;
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        txn.commit().await?;
        ContextRecord::try_from(created)
    }

    /// All contexts, by name.
    pub async fn list_contexts(&self) -> Result<Vec<ContextRecord>> {
        contexts::Entity::find()
            .order_by_asc(contexts::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(ContextRecord::try_from)
            .collect()
    }

    /// One context, or `None` if it does not exist.
    pub async fn get_context(&self, name: &str) -> Result<Option<ContextRecord>> {
        contexts::Entity::find()
            .filter(contexts::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(ContextRecord::try_from)
            .transpose()
    }

    /// Every key version of a context, oldest first (empty if the context does not exist).
    pub async fn list_key_versions(&self, name: &str) -> Result<Vec<KeyVersionRecord>> {
        key_versions::Entity::find()
            .filter(key_versions::Column::ContextName.eq(name))
            .order_by_asc(key_versions::Column::Version)
            .all(&self.db)
            .await?
            .into_iter()
            .map(KeyVersionRecord::try_from)
            .collect()
    }

    /// Adds version `current + 1` as `active`; the previous current becomes `decrypt_only`.
    pub async fn rotate_context(
        &self,
        name: &str,
        master_key_id: &str,
        audit: AuditEntry,
    ) -> Result<ContextRecord> {
        let txn = self.begin_write().await?;
        let context = find_context(&txn, name).await?;
        let next = context.current_version + 1;
        let now = Utc::now().trunc_subsecs(6);
        insert_version(&txn, name, next, master_key_id, now).await?;
        let updated = self
            .finish_version_change(&txn, context, next, None, now, &audit)
            .await?;
        txn.commit().await?;
        ContextRecord::try_from(updated)
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
        let txn = self.begin_write().await?;
        let context = find_context(&txn, name).await?;
        if version < 1 || version > context.current_version {
            return Err(StoreError::Conflict(format!(
                "min_decryption_version {version} is outside 1..={} for context `{name}`",
                context.current_version
            )));
        }
        let current = context.current_version;
        let now = Utc::now().trunc_subsecs(6);
        let updated = self
            .finish_version_change(&txn, context, current, Some(version), now, &audit)
            .await?;
        txn.commit().await?;
        ContextRecord::try_from(updated)
    }

    /// Saves the new version window, recomputes statuses, bumps the counter and audits.
    async fn finish_version_change(
        &self,
        txn: &impl ConnectionTrait,
        context: contexts::Model,
        current: i32,
        min: Option<i32>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<contexts::Model> {
        let min = min.unwrap_or(context.min_decryption_version);
        let name = context.name.clone();
        let mut active: contexts::ActiveModel = context.into();
        active.current_version = Set(current);
        active.min_decryption_version = Set(min);
        active.updated_at = Set(now);
        let updated = active.update(txn).await?;
        apply_statuses(txn, &name, current, min).await?;
        bump_change_counter(txn).await?;
        self.append_audit(txn, audit, AuditOutcome::Success).await?;
        Ok(updated)
    }
}

async fn find_context(txn: &impl ConnectionTrait, name: &str) -> Result<contexts::Model> {
    contexts::Entity::find()
        .filter(contexts::Column::Name.eq(name))
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            kind: KIND,
            name: name.to_owned(),
        })
}

fn already_exists(name: &str) -> StoreError {
    StoreError::AlreadyExists {
        kind: KIND,
        name: name.to_owned(),
    }
}

fn unique_violation_as_exists(error: sea_orm::DbErr, name: &str) -> StoreError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => already_exists(name),
        _ => error.into(),
    }
}

impl TryFrom<contexts::Model> for ContextRecord {
    type Error = StoreError;
    fn try_from(row: contexts::Model) -> Result<Self> {
        Ok(ContextRecord {
            algorithm: Algorithm::parse(&row.algorithm)?,
            name: row.name,
            description: row.description,
            current_version: row.current_version,
            min_decryption_version: row.min_decryption_version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
