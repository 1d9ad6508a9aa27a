//! Transactions: every statement the store sends runs inside one.
//!
//! Why even reads: the store must work through PgBouncer in transaction mode, where a client
//! connection is bound to one server connection only for the length of a transaction. sqlx
//! prepares each statement (`Parse`, `Sync`) and executes it (`Bind`, `Execute`, `Sync`) in
//! two round trips, and sea-orm always asks for a named statement (`sqlx_s_N`, numbered per
//! client connection); outside a transaction the two halves may reach different servers, and
//! a cached name may point at another client's statement there (PgBouncer 1.18 was seen
//! running a statement with the wrong parameter count). So on PostgreSQL, always, whether
//! or not the URL says `pgbouncer=true`:
//! - the statement cache is off (`connect.rs`), so no statement is used outside the
//!   transaction that prepared it;
//! - [`Store::begin`] starts every transaction with `DEALLOCATE ALL`, clearing whatever
//!   statements the server connection's previous user left behind, so within a transaction
//!   the only statements on the server are ours, under names we never reuse;
//! - every read and write runs between that and an explicit `COMMIT` (never a rollback left
//!   pending on drop, which would pin a server connection until the client is reused).
//!
//! The price on a direct connection is a round trip and a parse per statement on the
//! metadata path, which is off the request path (caches serve requests).
//!
//! Writes additionally serialise on a database-wide lock, because every mutation appends to
//! the audit chain and "read the last MAC, write the next row" must happen with no other
//! writer in between, even across server instances:
//! - PostgreSQL: `pg_advisory_xact_lock`, released automatically at commit or rollback (a
//!   transaction-level lock, so it works through PgBouncer too).
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
    /// Begins a transaction; end it with `commit()` (reads too) or let an error roll it back.
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction> {
        let txn = self.db.begin().await?;
        self.forget_statements(&txn).await?;
        Ok(txn)
    }

    /// Begins a read-only transaction that sees one snapshot throughout: REPEATABLE READ on
    /// PostgreSQL; on SQLite every read transaction already does (one WAL snapshot).
    pub(crate) async fn begin_snapshot(&self) -> Result<DatabaseTransaction> {
        let txn = self.db.begin().await?;
        if self.backend == Backend::Postgres {
            // Must come before any other statement, `DEALLOCATE` included.
            txn.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?;
        }
        self.forget_statements(&txn).await?;
        Ok(txn)
    }

    /// `DEALLOCATE ALL` on PostgreSQL (see the module docs); unprepared, so it is itself no
    /// named statement.
    async fn forget_statements(&self, txn: &DatabaseTransaction) -> Result<()> {
        if self.backend == Backend::Postgres {
            txn.execute_unprepared("DEALLOCATE ALL").await?;
        }
        Ok(())
    }

    /// Begins a transaction that holds the store-wide write lock until it ends.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction> {
        let txn = self.begin().await?;
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
