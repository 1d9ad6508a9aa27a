//! Identities (callers that hold tokens) and token revocation.
//!
//! The server caches the revoked identity ids and the not-yet-expired revoked token ids and
//! reloads them when the change counter moves, so every mutation here bumps it.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::changes::bump_change_counter;
use crate::entity::{identities, revoked_tokens};
use crate::error::{Result, StoreError};
use crate::Role;
use crate::{AuditEntry, AuditOutcome, Store};

pub use cryptoserve_api::{IdentityRecord, ALL_CONTEXTS};

/// What the server needs to create an identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIdentity {
    /// Human-readable label, not unique.
    pub name: String,
    /// What the identity may do.
    pub role: Role,
    /// Context names it may use; [`ALL_CONTEXTS`] grants all.
    pub allowed_contexts: Vec<String>,
    /// After this the identity's tokens are refused; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Creates an identity with a fresh UUID v4 id.
    pub async fn create_identity(
        &self,
        new: NewIdentity,
        audit: AuditEntry,
    ) -> Result<IdentityRecord> {
        let allowed = serde_json::to_string(&new.allowed_contexts)
            .map_err(|error| StoreError::InvalidInput(error.to_string()))?;
        let txn = self.begin_write().await?;
        let created = identities::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            name: Set(new.name),
            role: Set(new.role.as_str().to_owned()),
            allowed_contexts: Set(allowed),
            created_at: Set(Utc::now().trunc_subsecs(6)),
            expires_at: Set(new.expires_at.map(|at| at.trunc_subsecs(6))),
            revoked_at: Set(None),
        }
        .insert(&txn)
        .await?;
        bump_change_counter(&txn).await?;
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        self.commit_write(txn).await?;
        IdentityRecord::try_from(created)
    }

    /// All identities, oldest first.
    pub async fn list_identities(&self) -> Result<Vec<IdentityRecord>> {
        let txn = self.begin().await?;
        let rows = identities::Entity::find()
            .order_by_asc(identities::Column::CreatedAt)
            .order_by_asc(identities::Column::Id)
            .all(&txn)
            .await?;
        txn.commit().await?;
        rows.into_iter().map(IdentityRecord::try_from).collect()
    }

    /// One identity, or `None`.
    pub async fn get_identity(&self, id: &str) -> Result<Option<IdentityRecord>> {
        let txn = self.begin().await?;
        let row = identities::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await?;
        txn.commit().await?;
        row.map(IdentityRecord::try_from).transpose()
    }

    /// Revokes an identity (all its tokens stop working). Revoking twice keeps the first
    /// time. `NotFound` if there is no such identity.
    pub async fn revoke_identity(&self, id: &str, audit: AuditEntry) -> Result<IdentityRecord> {
        let txn = self.begin_write().await?;
        let row = identities::Entity::find_by_id(id.to_owned())
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "identity",
                name: id.to_owned(),
            })?;
        let row = if row.revoked_at.is_some() {
            row
        } else {
            let mut active: identities::ActiveModel = row.into();
            active.revoked_at = Set(Some(Utc::now().trunc_subsecs(6)));
            active.update(&txn).await?
        };
        bump_change_counter(&txn).await?;
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        self.commit_write(txn).await?;
        IdentityRecord::try_from(row)
    }

    /// Revokes one token by its `jti`, remembered until `expires_at` (after which the token
    /// is refused anyway). Revoking the same token twice is a no-op apart from the audit row.
    pub async fn revoke_token(
        &self,
        jti: &str,
        identity_id: &str,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<()> {
        let txn = self.begin_write().await?;
        let known = revoked_tokens::Entity::find_by_id(jti.to_owned())
            .one(&txn)
            .await?
            .is_some();
        if !known {
            revoked_tokens::ActiveModel {
                jti: Set(jti.to_owned()),
                identity_id: Set(identity_id.to_owned()),
                revoked_at: Set(Utc::now().trunc_subsecs(6)),
                expires_at: Set(expires_at.trunc_subsecs(6)),
            }
            .insert(&txn)
            .await?;
        }
        bump_change_counter(&txn).await?;
        self.append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        self.commit_write(txn).await?;
        Ok(())
    }

    /// Ids of every revoked identity, for the server's deny cache.
    pub async fn revoked_identity_ids(&self) -> Result<Vec<String>> {
        let txn = self.begin().await?;
        let ids = identities::Entity::find()
            .select_only()
            .column(identities::Column::Id)
            .filter(identities::Column::RevokedAt.is_not_null())
            .order_by_asc(identities::Column::Id)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(ids)
    }

    /// `jti`s of revoked tokens that can still be presented: not expired, or expired less than
    /// [`REVOCATION_GRACE`] ago (token verification allows some clock leeway past `exp`, so a
    /// revocation must outlive the token by more than that).
    pub async fn revoked_token_ids(&self) -> Result<Vec<String>> {
        let txn = self.begin().await?;
        let ids = revoked_tokens::Entity::find()
            .select_only()
            .column(revoked_tokens::Column::Jti)
            .filter(revoked_tokens::Column::ExpiresAt.gt(Utc::now() - REVOCATION_GRACE))
            .order_by_asc(revoked_tokens::Column::Jti)
            .into_tuple()
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(ids)
    }
}

/// How long after its token's `exp` a revocation is still loaded: longer than any verifier's
/// clock leeway (the server's is 30 s).
pub const REVOCATION_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

impl TryFrom<identities::Model> for IdentityRecord {
    type Error = StoreError;
    fn try_from(row: identities::Model) -> Result<Self> {
        let allowed_contexts = serde_json::from_str(&row.allowed_contexts).map_err(|error| {
            StoreError::Corrupt(format!("allowed_contexts of identity {}: {error}", row.id))
        })?;
        Ok(IdentityRecord {
            role: Role::parse(&row.role)?,
            allowed_contexts,
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        })
    }
}
