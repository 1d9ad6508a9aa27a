//! Opening the database: pool sizing, backend-specific options, migrations and health.
//!
//! We build the sqlx pool ourselves (rather than through sea-orm's `ConnectOptions`) because
//! an in-memory SQLite database must live on exactly one connection that is never recycled.

use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::{ConnectionTrait as _, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

use crate::audit_key::AuditKey;
use crate::database_url::{normalise_database_url, pgbouncer_flag, Backend};
use crate::error::{Result, StoreError};
use crate::migration::Migrator;

pub use cryptoserve_api::PoolStatus;

/// SQLite has a single writer, so more connections only add lock waits.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// How long a SQLite writer waits for the write lock before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pool sizing, named after the settings operators already know from SQLAlchemy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections we expect to need in steady state.
    pub pool_size: u32,
    /// Extra connections allowed under bursts; the hard cap is `pool_size + max_overflow`.
    pub max_overflow: u32,
    /// Connections older than this are closed, so failovers and password rotations take effect.
    pub recycle: Duration,
    /// How long the first connection may take before `connect` reports `Unavailable`.
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection before failing with `Unavailable`.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            pool_size: 10,
            max_overflow: 20,
            recycle: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The metadata store: every repository method lives on this handle. Cloning is cheap and
/// shares the pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    pub(crate) backend: Backend,
    /// `pgbouncer=true` in the URL: migrations are refused and health pings run a query (the
    /// statement handling in `transactions.rs` is the same either way).
    pub(crate) pgbouncer: bool,
    pub(crate) audit_key: AuditKey,
    /// Committed audit rows on their way to the observer (shared by clones).
    pub(crate) audit_feed: std::sync::Arc<crate::audit_feed::AuditFeed>,
}

impl Store {
    /// Connects to PostgreSQL or SQLite (see [`normalise_database_url`] for accepted URLs).
    /// The audit key signs the admin audit chain; the server derives it from the master key.
    pub async fn connect(url: &str, pool: &PoolSettings, audit_key: AuditKey) -> Result<Store> {
        let (backend, url) = normalise_database_url(url)?;
        let (url, pgbouncer) = match backend {
            Backend::Postgres => pgbouncer_flag(&url)?,
            Backend::Sqlite => (url, false),
        };
        let connecting = async {
            match backend {
                Backend::Postgres => connect_postgres(&url, pool).await,
                Backend::Sqlite => connect_sqlite(&url, pool).await,
            }
        };
        let db = tokio::time::timeout(pool.connect_timeout, connecting)
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no {} connection within {:?}",
                    backend.as_str(),
                    pool.connect_timeout
                ))
            })??;
        Ok(Store {
            db,
            backend,
            pgbouncer,
            audit_key,
            audit_feed: crate::audit_feed::new_feed(),
        })
    }

    /// Applies pending migrations; safe to call on every start and from several instances
    /// (a second run finds nothing to do). Refused through PgBouncer: the migrator runs its
    /// statements outside transactions, so it needs a connection of its own.
    pub async fn migrate(&self) -> Result<()> {
        if self.pgbouncer {
            return Err(StoreError::PgBouncer(
                "migrations need a direct connection to PostgreSQL, and DATABASE_URL goes \
                 through PgBouncer (pgbouncer=true): run `cryptoserve migrate` with DATABASE_URL \
                 pointing at PostgreSQL itself, then start `cryptoserve serve --no-migrate` \
                 through PgBouncer (docs/operations/pgbouncer.md)"
                    .to_owned(),
            ));
        }
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Whether the URL said `pgbouncer=true`.
    pub fn through_pgbouncer(&self) -> bool {
        self.pgbouncer
    }

    /// Round-trips a trivial query and returns how long it took, for readiness checks.
    /// Through PgBouncer a protocol-level ping would only reach PgBouncer, so a real query
    /// goes to PostgreSQL.
    pub async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        if self.pgbouncer {
            self.db.execute_unprepared("SELECT 1").await?;
        } else {
            self.db.ping().await?;
        }
        Ok(started.elapsed())
    }

    /// Current pool occupancy (best effort: the numbers are read without a lock).
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle, max) = match self.backend {
            Backend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
            Backend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    pool.num_idle(),
                    pool.options().get_max_connections(),
                )
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX).min(size);
        PoolStatus {
            size,
            idle,
            in_use: size - idle,
            max,
        }
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        self.backend.as_str()
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) -> Result<()> {
        match self.backend {
            Backend::Postgres => self.db.get_postgres_connection_pool().close().await,
            Backend::Sqlite => self.db.get_sqlite_connection_pool().close().await,
        }
        Ok(())
    }
}

async fn connect_postgres(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection> {
    let mut options: PgConnectOptions = url
        .parse()
        .map_err(|_| StoreError::InvalidUrl("malformed postgres url".to_owned()))?;
    // Whether or not PgBouncer is in the way (`transactions.rs`): no statement outlives its
    // transaction, and no startup parameter PgBouncer 1.18 does not know (it refuses the
    // login over `extra_float_digits`; the schema has no floating-point columns).
    options = options.statement_cache_capacity(0).extra_float_digits(None);
    let pool = PgPoolOptions::new()
        .max_connections(
            settings
                .pool_size
                .saturating_add(settings.max_overflow)
                .max(1),
        )
        .min_connections(1)
        .max_lifetime(settings.recycle)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options.disable_statement_logging())
        .await
        .map_err(|error| StoreError::Unavailable(error.to_string()))?;
    Ok(pool.into())
}

async fn connect_sqlite(url: &str, settings: &PoolSettings) -> Result<DatabaseConnection> {
    let options: SqliteConnectOptions = url
        .parse()
        .map_err(|_| StoreError::InvalidUrl("malformed sqlite url".to_owned()))?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = options
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .disable_statement_logging();
    let pool_options = SqlitePoolOptions::new().acquire_timeout(settings.acquire_timeout);
    let pool_options = if in_memory {
        // Each in-memory connection is its own database: keep exactly one, forever.
        pool_options
            .max_connections(1)
            .min_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
    } else {
        pool_options
            .max_connections(
                (settings.pool_size.saturating_add(settings.max_overflow))
                    .clamp(1, SQLITE_MAX_CONNECTIONS),
            )
            .min_connections(1)
            .max_lifetime(settings.recycle)
    };
    let options = if in_memory {
        options
    } else {
        options.journal_mode(SqliteJournalMode::Wal)
    };
    let pool = pool_options
        .connect_with(options)
        .await
        .map_err(|error| StoreError::Unavailable(error.to_string()))?;
    Ok(pool.into())
}
