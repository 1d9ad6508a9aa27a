//! Writing a backup back: one write transaction (the store-wide lock every mutation takes),
//! rows inserted with their original ids, PostgreSQL's id sequences moved past them, the
//! change counter bumped and one audit row appended that records the import.

use std::collections::BTreeMap;
use std::fmt::Display;

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, ModelTrait, Statement,
};

use super::{read_tables, BackupTables};
use crate::changes::bump_change_counter;
use crate::database_url::Backend;
use crate::error::{Result, StoreError};
use crate::{AuditEntry, AuditOutcome, AuditRecord, Store};

/// Rows per `INSERT`: the widest table has 11 columns, which keeps a statement below SQLite's
/// 32 766 and PostgreSQL's 65 535 bind parameters.
const ROWS_PER_STATEMENT: usize = 1000;

/// Tables whose integer `id` comes from a sequence on PostgreSQL (SQLite's AUTOINCREMENT
/// follows explicit ids by itself).
const SERIAL_TABLES: [&str; 5] = [
    "contexts",
    "key_versions",
    "rate_limit_policies",
    "admin_audit_log",
    "usage_counters",
];

/// What to do when the database already holds rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// Refuse unless every exported table is empty (a new or freshly migrated database).
    EmptyOnly,
    /// Insert the rows the database lacks; a row it holds under the same key must be
    /// identical, or the import is refused and nothing is written.
    Merge,
}

/// What an import wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows inserted per table.
    pub inserted: Vec<(&'static str, usize)>,
    /// Rows of the backup the database already held, identical (merge only).
    pub already_present: usize,
    /// The audit row that records the import.
    pub audit: AuditRecord,
}

impl Store {
    /// Writes `tables` back in one transaction; see [`ImportMode`]. `NotEmpty` or
    /// `BackupConflict` leave the database as it was.
    pub async fn import_tables(
        &self,
        tables: &BackupTables,
        mode: ImportMode,
        audit: AuditEntry,
    ) -> Result<ImportSummary> {
        let txn = self.begin_write().await?;
        let existing = read_tables(&txn).await?;
        if mode == ImportMode::EmptyOnly && !existing.is_empty() {
            let counts: Vec<String> = existing
                .row_counts()
                .into_iter()
                .filter(|(_, rows)| *rows > 0)
                .map(|(table, rows)| format!("{table}: {rows} rows"))
                .collect();
            return Err(StoreError::NotEmpty(counts.join(", ")));
        }
        let (t, e) = (tables, &existing);
        let inserted = vec![
            copy(&txn, "contexts", &t.contexts, &e.contexts, |r| r.id).await?,
            copy(
                &txn,
                "key_versions",
                &t.key_versions,
                &e.key_versions,
                |r| r.id,
            )
            .await?,
            copy(&txn, "identities", &t.identities, &e.identities, |r| {
                r.id.clone()
            })
            .await?,
            copy(
                &txn,
                "revoked_tokens",
                &t.revoked_tokens,
                &e.revoked_tokens,
                |r| r.jti.clone(),
            )
            .await?,
            copy(
                &txn,
                "rate_limit_policies",
                &t.rate_limit_policies,
                &e.rate_limit_policies,
                |r| r.id,
            )
            .await?,
            copy(
                &txn,
                "admin_audit_log",
                &t.admin_audit_log,
                &e.admin_audit_log,
                |r| r.id,
            )
            .await?,
            copy(
                &txn,
                "usage_counters",
                &t.usage_counters,
                &e.usage_counters,
                |r| r.id,
            )
            .await?,
        ];
        let total: usize = t.row_counts().iter().map(|(_, rows)| rows).sum();
        if self.backend == Backend::Postgres {
            advance_sequences(&txn).await?;
        }
        bump_change_counter(&txn).await?;
        let record = self
            .append_audit(&txn, &audit, AuditOutcome::Success)
            .await?;
        txn.commit().await?;
        let written: usize = inserted.iter().map(|(_, rows)| rows).sum();
        Ok(ImportSummary {
            inserted,
            already_present: total - written,
            audit: record,
        })
    }
}

/// Inserts the backup's rows of one table that the database lacks, with every column as
/// given (ids included), in bounded statements; `BackupConflict` for a key the database holds
/// with other values. Returns the table and the number of rows inserted.
async fn copy<M, A, K>(
    txn: &impl ConnectionTrait,
    table: &'static str,
    rows: &[M],
    existing: &[M],
    key: impl Fn(&M) -> K,
) -> Result<(&'static str, usize)>
where
    M: ModelTrait + IntoActiveModel<A> + Clone + PartialEq,
    A: ActiveModelTrait + Clone + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    K: Ord + Display,
{
    let present: BTreeMap<K, &M> = existing.iter().map(|row| (key(row), row)).collect();
    let mut missing = Vec::new();
    for row in rows {
        match present.get(&key(row)) {
            Some(current) if *current == row => {}
            Some(_) => {
                return Err(StoreError::BackupConflict {
                    table,
                    key: key(row).to_string(),
                })
            }
            None => missing.push(row.clone().into_active_model()),
        }
    }
    for chunk in missing.chunks(ROWS_PER_STATEMENT) {
        <A::Entity as EntityTrait>::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    Ok((table, missing.len()))
}

/// Moves each id sequence past the largest id, so the next row a server inserts does not
/// collide with an imported one.
async fn advance_sequences(txn: &impl ConnectionTrait) -> Result<()> {
    for table in SERIAL_TABLES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        );
        txn.execute(Statement::from_string(txn.get_database_backend(), sql))
            .await?;
    }
    Ok(())
}
