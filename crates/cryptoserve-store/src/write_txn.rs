//! Serialised write transactions.
//!
//! Every mutation appends to the audit chain, and the chain needs "read the last MAC, write
//! the next row" to happen with no other writer in between, even across server instances.
//! So each write transaction first takes a database-wide write lock:
//! - PostgreSQL: `pg_advisory_xact_lock`, released automatically at commit or rollback.
//! - SQLite: a no-op `UPDATE` as the very first statement, which takes SQLite's single write
//!   lock before the transaction has read anything. (Reading first and writing later would
//!   fail with `SQLITE_BUSY_SNAPSHOT` instead of waiting when another writer committed.)
//!
//! Admin mutations are rare, so serialising them costs nothing noticeable.

use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, TransactionTrait};

use crate::database_url::Backend;
use crate::error::Result;
use crate::Store;

/// Arbitrary constant naming our advisory lock ("CSAUDIT1" in ASCII); only has to be unique
/// among advisory locks used on the same database.
const AUDIT_CHAIN_LOCK: i64 = 0x4353_4155_4449_5431;

impl Store {
    /// Begins a transaction that holds the store-wide write lock until it ends.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        let txn = self.db.begin().await?;
        let statement = match self.backend {
            Backend::Postgres => Statement::from_sql_and_values(
                txn.get_database_backend(),
                "SELECT pg_advisory_xact_lock($1)",
                [AUDIT_CHAIN_LOCK.into()],
            ),
            Backend::Sqlite => Statement::from_string(
                txn.get_database_backend(),
                "UPDATE change_counter SET value = value WHERE id = 1",
            ),
        };
        txn.execute(statement).await?;
        // We hold the lock: rows still pending belong to a transaction that rolled back.
        self.audit_feed.discard();
        Ok(txn)
    }
}
