//! Backup and restore of the whole metadata store: every table read in one consistent
//! snapshot ([`Store::export_tables`]) and written back with its ids, MACs and timestamps
//! verbatim, in one write transaction ([`Store::import_tables`], in `backup/restore.rs`).
//!
//! A snapshot is metadata only, like the store itself. No column holds key material:
//! key versions name the master key they derive from by its id (a fingerprint), contexts carry
//! their generation id (an input to key derivation, useless without the master key), audit
//! rows carry HMAC outputs, never the key. The file format and its MAC belong to the server
//! (`cryptoserve export`), which holds the master key.
//!
//! Every table the migrations create is either in [`EXPORTED_TABLES`] or, with a reason, in
//! [`NOT_EXPORTED_TABLES`]; a test fails when a migration adds a table to neither.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use sea_orm_migration::MigratorTrait;
use serde::{Deserialize, Serialize};

use crate::entity::{
    admin_audit_log, contexts, identities, key_versions, rate_limit_policies, revoked_tokens,
    usage_counters,
};
use crate::error::Result;
use crate::migration::Migrator;
use crate::Store;

mod restore;

pub use restore::{ImportMode, ImportSummary};

/// The tables a backup holds, in the order they are written back (parents first).
pub const EXPORTED_TABLES: [&str; 7] = [
    "contexts",
    "key_versions",
    "identities",
    "revoked_tokens",
    "rate_limit_policies",
    "admin_audit_log",
    "usage_counters",
];

/// Tables left out on purpose: `change_counter` only tells running instances to reload their
/// caches; an import bumps the target's own counter instead.
pub const NOT_EXPORTED_TABLES: [&str; 1] = ["change_counter"];

/// Every exported table's rows, ordered by primary key. Fields are the sea-orm rows
/// themselves, so a column added to an entity is exported (and required on import) at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupTables {
    contexts: Vec<contexts::Model>,
    key_versions: Vec<key_versions::Model>,
    identities: Vec<identities::Model>,
    revoked_tokens: Vec<revoked_tokens::Model>,
    rate_limit_policies: Vec<rate_limit_policies::Model>,
    admin_audit_log: Vec<admin_audit_log::Model>,
    usage_counters: Vec<usage_counters::Model>,
}

impl BackupTables {
    /// Rows per table, in [`EXPORTED_TABLES`] order.
    pub fn row_counts(&self) -> Vec<(&'static str, usize)> {
        let counts = [
            self.contexts.len(),
            self.key_versions.len(),
            self.identities.len(),
            self.revoked_tokens.len(),
            self.rate_limit_policies.len(),
            self.admin_audit_log.len(),
            self.usage_counters.len(),
        ];
        EXPORTED_TABLES.into_iter().zip(counts).collect()
    }

    /// True when no table has a row.
    pub fn is_empty(&self) -> bool {
        self.row_counts().iter().all(|(_, rows)| *rows == 0)
    }

    /// The master key ids the key versions derive from: the keyring must hold each of them
    /// for the ciphertext of those versions to open.
    pub fn master_key_ids(&self) -> BTreeSet<String> {
        self.key_versions
            .iter()
            .map(|version| version.master_key_id.clone())
            .collect()
    }

    /// Id and MAC of the newest audit row (the chain's head), if any.
    pub fn audit_head(&self) -> Option<(i64, &str)> {
        self.admin_audit_log
            .last()
            .map(|row| (row.id, row.mac.as_str()))
    }
}

/// The newest migration this build knows: a backup records it so an older build refuses a
/// file written by a newer schema instead of dropping columns it has never heard of.
pub fn schema_version() -> String {
    Migrator::migrations()
        .last()
        .map(|migration| migration.name().to_owned())
        .unwrap_or_default()
}

/// True when this build's migrations include `name` (it can read a backup of that schema).
pub fn knows_schema(name: &str) -> bool {
    Migrator::migrations()
        .iter()
        .any(|migration| migration.name() == name)
}

impl Store {
    /// Reads every exported table in one snapshot: a read-only REPEATABLE READ transaction on
    /// PostgreSQL, a read transaction (one WAL snapshot) on SQLite. Writers keep going
    /// meanwhile; the snapshot holds each of their transactions entirely or not at all, so
    /// the audit chain in it verifies and every key version has its context.
    pub async fn export_tables(&self) -> Result<BackupTables> {
        let txn = self.begin_snapshot().await?;
        let tables = read_tables(&txn).await?;
        txn.commit().await?;
        Ok(tables)
    }
}

/// Every exported table, ordered by primary key.
pub(crate) async fn read_tables(conn: &impl ConnectionTrait) -> Result<BackupTables> {
    Ok(BackupTables {
        contexts: contexts::Entity::find()
            .order_by_asc(contexts::Column::Id)
            .all(conn)
            .await?,
        key_versions: key_versions::Entity::find()
            .order_by_asc(key_versions::Column::Id)
            .all(conn)
            .await?,
        identities: identities::Entity::find()
            .order_by_asc(identities::Column::Id)
            .all(conn)
            .await?,
        revoked_tokens: revoked_tokens::Entity::find()
            .order_by_asc(revoked_tokens::Column::Jti)
            .all(conn)
            .await?,
        rate_limit_policies: rate_limit_policies::Entity::find()
            .order_by_asc(rate_limit_policies::Column::Id)
            .all(conn)
            .await?,
        admin_audit_log: admin_audit_log::Entity::find()
            .order_by_asc(admin_audit_log::Column::Id)
            .all(conn)
            .await?,
        usage_counters: usage_counters::Entity::find()
            .order_by_asc(usage_counters::Column::Id)
            .all(conn)
            .await?,
    })
}

#[cfg(test)]
mod tests;
