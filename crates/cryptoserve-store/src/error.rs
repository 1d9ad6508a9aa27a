//! The crate's single error type. The server maps variants to HTTP statuses: `NotFound` → 404,
//! `AlreadyExists`/`Conflict` → 409,
//! `InvalidInput` → 400, `Unavailable` → 503, everything else → 500.

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

/// Everything a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named record does not exist; `kind` is e.g. "context" or "identity".
    #[error("{kind} `{name}` not found")]
    NotFound {
        /// What kind of record was looked up.
        kind: &'static str,
        /// The name or id that was looked up.
        name: String,
    },
    /// A record with this natural key already exists.
    #[error("{kind} `{name}` already exists")]
    AlreadyExists {
        /// What kind of record was being created.
        kind: &'static str,
        /// The clashing name.
        name: String,
    },
    /// The request contradicts the current state (e.g. a minimum version above the current one).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The input cannot be stored (e.g. a name longer than its column); HTTP 400.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The database cannot be reached right now; callers should retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A value read from the database is not one we wrote (schema drift or manual edits).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The URL is not one of the accepted PostgreSQL or SQLite forms.
    #[error("unsupported database url: {0}")]
    InvalidUrl(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(DbErr),
    /// PgBouncer is in the way of what was asked, or in the way without `pgbouncer=true` in
    /// the URL; the message says what to change.
    #[error("{0}")]
    PgBouncer(String),
    /// An import into a database that must be empty found rows (counts per table).
    #[error("the target database is not empty ({0})")]
    NotEmpty(String),
    /// A merging import found a row whose key the database holds with different values.
    #[error("backup row {table} `{key}` differs from the row the database holds")]
    BackupConflict {
        /// The table of the clashing row.
        table: &'static str,
        /// The row's primary key.
        key: String,
    },
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

impl From<cryptoserve_api::Error> for StoreError {
    /// A text column holding a value outside its vocabulary (a role, a status, ...) was not
    /// written by us.
    fn from(error: cryptoserve_api::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}

impl From<DbErr> for StoreError {
    /// Connection-level failures become `Unavailable` so the server can answer 503 instead of
    /// 500 while PostgreSQL restarts; query-level failures stay `Database`.
    fn from(error: DbErr) -> Self {
        if let Some(hint) = pgbouncer_hint(&error) {
            StoreError::PgBouncer(hint)
        } else if is_unavailable(&error) {
            StoreError::Unavailable(error.to_string())
        } else {
            StoreError::Database(error)
        }
    }
}

/// A database error about one of sqlx's prepared statements (`sqlx_s_N`) means statements
/// were prepared on one server connection and used on another: PgBouncer in transaction mode
/// under something that runs statements outside transactions (the migrator) — the store's
/// own statements never do.
fn pgbouncer_hint(error: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx::Error::Database(db)))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx::Error::Database(db)))) = error
    else {
        return None;
    };
    pgbouncer_hint_for(db.message())
}

fn pgbouncer_hint_for(message: &str) -> Option<String> {
    message.contains("prepared statement \"sqlx_s_").then(|| {
        format!(
            "{message} (the connection looks like it goes through PgBouncer in transaction \
             mode, which needs pgbouncer=true in DATABASE_URL and migrations over a direct \
             connection; docs/operations/pgbouncer.md)"
        )
    })
}

fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            is_unavailable_sqlx(inner)
        }
        _ => false,
    }
}

fn is_unavailable_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_mixups_get_the_pgbouncer_hint_and_nothing_else_does() {
        for message in [
            "prepared statement \"sqlx_s_1\" already exists",
            "prepared statement \"sqlx_s_7\" does not exist",
            "bind message supplies 1 parameters, but prepared statement \"sqlx_s_5\" requires 2",
        ] {
            let hint = pgbouncer_hint_for(message).unwrap();
            assert!(
                hint.starts_with(message) && hint.contains("pgbouncer=true"),
                "{hint}"
            );
        }
        for message in [
            "relation \"x\" does not exist",
            "prepared statement \"mine\" exists",
        ] {
            assert_eq!(pgbouncer_hint_for(message), None, "{message}");
        }
    }

    #[test]
    fn pool_timeouts_are_unavailable_but_query_errors_are_not() {
        let timeout = DbErr::Query(RuntimeErr::SqlxError(sqlx::Error::PoolTimedOut));
        assert!(matches!(
            StoreError::from(timeout),
            StoreError::Unavailable(_)
        ));
        let custom = DbErr::Custom("boom".to_owned());
        assert!(matches!(StoreError::from(custom), StoreError::Database(_)));
    }

    #[test]
    fn unknown_vocabulary_values_read_back_are_corrupt() {
        let error = crate::Role::parse("root").map_err(StoreError::from);
        assert!(
            matches!(&error, Err(StoreError::Corrupt(message)) if message == "unknown Role `root`"),
            "{error:?}"
        );
    }
}
