//! Encryption contexts and their key versions.
//!
//! A context encrypts with `current_version` and decrypts anything from
//! `min_decryption_version` up. Each version's status follows from those two numbers:
//! the current one is `active`, older ones still accepted are `decrypt_only`, and those below
//! the minimum are `retired`. Every mutation recomputes the statuses from that rule, bumps
//! the change counter and appends its audit row in the same transaction.

use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

use crate::changes::bump_change_counter;
use crate::entity::{contexts, key_versions};
use crate::error::{Result, StoreError};
use crate::key_versions::{insert_version, KeyVersionRecord};
use crate::Algorithm;
use crate::{AuditEntry, AuditOutcome, Store};

pub use cryptoserve_api::{ContextAttributes, ContextRecord};

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
    /// Derived / convergent / deletable / auto-rotating.
    pub attributes: ContextAttributes,
    /// Random, non-secret id (32 hex characters) that enters key derivation, so a deleted and
    /// re-created name never re-derives the old keys. `None` only for contexts created before
    /// generation ids existed.
    pub generation_id: Option<String>,
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
        validate_attributes(&new.attributes)?;
        if new.generation_id.as_ref().is_some_and(|id| id.len() != 32) {
            return Err(StoreError::InvalidInput(
                "generation id must be 32 hex characters".into(),
            ));
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
            min_encryption_version: Set(0),
            derived: Set(new.attributes.derived),
            convergent: Set(new.attributes.convergent),
            deletion_allowed: Set(new.attributes.deletion_allowed),
            auto_rotate_period_secs: Set(new.attributes.auto_rotate_period_secs),
            generation_id: Set(new.generation_id),
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
        self.commit_write(txn).await?;
        ContextRecord::try_from(created)
    }

    /// All contexts, by name.
    pub async fn list_contexts(&self) -> Result<Vec<ContextRecord>> {
        let txn = self.begin().await?;
        let rows = contexts::Entity::find()
            .order_by_asc(contexts::Column::Name)
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter().map(ContextRecord::try_from).collect()
    }

    /// One context, or `None` if it does not exist.
    pub async fn get_context(&self, name: &str) -> Result<Option<ContextRecord>> {
        let txn = self.begin().await?;
        let row = contexts::Entity::find()
            .filter(contexts::Column::Name.eq(name))
            .one(&txn)
            .await?;
        txn.commit().await?;
        row.map(ContextRecord::try_from).transpose()
    }

    /// Every key version of a context, oldest first (empty if the context does not exist).
    pub async fn list_key_versions(&self, name: &str) -> Result<Vec<KeyVersionRecord>> {
        let txn = self.begin().await?;
        let rows = key_versions::Entity::find()
            .filter(key_versions::Column::ContextName.eq(name))
            .order_by_asc(key_versions::Column::Version)
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter().map(KeyVersionRecord::try_from).collect()
    }
}

pub(crate) async fn find_context(
    txn: &impl ConnectionTrait,
    name: &str,
) -> Result<contexts::Model> {
    contexts::Entity::find()
        .filter(contexts::Column::Name.eq(name))
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            kind: KIND,
            name: name.to_owned(),
        })
}

/// Refuses attribute combinations no context may have.
pub(crate) fn validate_attributes(attributes: &ContextAttributes) -> Result<()> {
    if attributes.convergent && !attributes.derived {
        return Err(StoreError::InvalidInput(
            "convergent encryption requires derivation to be enabled".into(),
        ));
    }
    if attributes.auto_rotate_period_secs != 0 && attributes.auto_rotate_period_secs < 3600 {
        return Err(StoreError::InvalidInput(
            "auto rotate period must be 0 to disable or at least an hour".into(),
        ));
    }
    Ok(())
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
            min_encryption_version: row.min_encryption_version,
            derived: row.derived,
            convergent: row.convergent,
            deletion_allowed: row.deletion_allowed,
            auto_rotate_period_secs: row.auto_rotate_period_secs,
            generation_id: row.generation_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}
