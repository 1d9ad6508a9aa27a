//! Key-version rows of a context and the rule that sets their status: below the context's
//! minimum decryption version a version is `retired`, the current one is `active`, and
//! everything between is `decrypt_only`. Recomputing from that rule after every change
//! (instead of patching individual rows) keeps statuses consistent whatever happened before.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use crate::entity::key_versions;
use crate::error::{Result, StoreError};
use crate::KeyStatus;

pub use cryptoserve_api::KeyVersionRecord;

pub(crate) async fn insert_version(
    txn: &impl ConnectionTrait,
    name: &str,
    version: i32,
    master_key_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    key_versions::ActiveModel {
        context_name: Set(name.to_owned()),
        version: Set(version),
        master_key_id: Set(master_key_id.to_owned()),
        status: Set(KeyStatus::Active.as_str().to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|error| match error.sql_err() {
        // Two rotations cannot race (write lock), so this means the table was edited by hand.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(format!(
            "version {version} of context `{name}` already exists"
        )),
        _ => error.into(),
    })?;
    Ok(())
}

/// The status rule: below `min` retired, `current` active, everything between decrypt-only.
pub(crate) async fn apply_statuses(
    txn: &impl ConnectionTrait,
    name: &str,
    current: i32,
    min: i32,
) -> Result<()> {
    let version = key_versions::Column::Version;
    let ranges = [
        (KeyStatus::Retired, version.lt(min)),
        (
            KeyStatus::DecryptOnly,
            version.gte(min).and(version.lt(current)),
        ),
        (KeyStatus::Active, version.eq(current)),
    ];
    for (status, range) in ranges {
        key_versions::Entity::update_many()
            .col_expr(key_versions::Column::Status, Expr::value(status.as_str()))
            .filter(key_versions::Column::ContextName.eq(name))
            .filter(range)
            .exec(txn)
            .await?;
    }
    Ok(())
}

impl TryFrom<key_versions::Model> for KeyVersionRecord {
    type Error = StoreError;
    fn try_from(row: key_versions::Model) -> Result<Self> {
        Ok(KeyVersionRecord {
            status: KeyStatus::parse(&row.status)?,
            context_name: row.context_name,
            version: row.version,
            master_key_id: row.master_key_id,
            created_at: row.created_at,
        })
    }
}
