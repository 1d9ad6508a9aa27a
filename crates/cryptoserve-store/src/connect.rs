//! Opening the database: pool sizing, backend-specific options, migrations and health.
//!
//! We build the sqlx pool ourselves (rather than through sea-orm's `ConnectOptions`) because
//! an in-memory SQLite database must live on exactly one connection that is never recycled.

use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

use crate::audit_key::AuditKey;
use crate::database_url::{normalise_database_url, Backend};
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
    pub(crate) audit_key: AuditKey,
    /// Committed audit rows on their way to the observer (shared by clones).
    pub(crate) audit_feed: std::sync::Arc<crate::audit_feed::AuditFeed>,
}

impl Store {
    /// Connects to PostgreSQL or SQLite (see [`normalise_database_url`] for accepted URLs).
    /// The audit key signs the admin audit chain; the server derives it from the master key.
    pub async fn connect(url: &str, pool: &PoolSettings, audit_key: AuditKey) -> Result<Store> {
        let (backend, url) = normalise_database_url(url)?;
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
            audit_key,
            audit_feed: crate::audit_feed::new_feed(),
        })
    }

    /// Applies pending migrations; safe to call on every start and from several instances
    /// (a second run finds nothing to do).
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Round-trips a trivial query and returns how long it took, for readiness checks.
    pub async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        self.db.ping().await?;
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
    let options: PgConnectOptions = url
        .parse()
        .map_err(|_| StoreError::InvalidUrl("malformed postgres url".to_owned()))?;
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
