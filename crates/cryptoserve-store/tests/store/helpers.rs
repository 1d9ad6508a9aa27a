//! Test databases. PostgreSQL servers are shared by the tests that run at the same time
//! (each test gets its own database) and stopped as soon as no test holds them: the shared
//! slot keeps only a `Weak`, so nothing outlives the test binary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use cryptoserve_store::{AuditEntry, AuditKey, PoolSettings, Store};
use cryptoserve_testkit::pgbouncer::PgBouncer;
use cryptoserve_testkit::postgres::Postgres;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

static SHARED_POSTGRES: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
static SHARED_PGBOUNCER: Mutex<Weak<PgBouncer>> = Mutex::new(Weak::new());
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// The audit key every test store uses.
pub fn audit_key() -> AuditKey {
    AuditKey::new([7; 32])
}

/// A migrated store plus whatever keeps its database alive.
pub struct TestDb {
    pub store: Store,
    /// The URL the store uses (through PgBouncer for [`TestDb::pgbouncer`]).
    pub url: String,
    /// The database itself, for migrations and SQL behind the store's back.
    pub direct_url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    _postgres: Option<Arc<Postgres>>,
    _pgbouncer: Option<Arc<PgBouncer>>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        );
        let store = connect(&url).await;
        TestDb {
            store,
            direct_url: url.clone(),
            url,
            _sqlite_dir: Some(dir),
            _postgres: None,
            _pgbouncer: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let server = shared_postgres();
        let url = server.create_database(&next_database_name()).unwrap();
        let store = connect(&url).await;
        TestDb {
            store,
            direct_url: url.clone(),
            url,
            _sqlite_dir: None,
            _postgres: Some(server),
            _pgbouncer: None,
        }
    }

    /// A database migrated directly, used by the store through PgBouncer in transaction mode
    /// (`pgbouncer=true`), with fewer server connections than the store's pool.
    pub async fn pgbouncer() -> TestDb {
        let server = shared_postgres();
        let bouncer = shared_pgbouncer(&server);
        let name = next_database_name();
        let direct_url = server.create_database(&name).unwrap();
        connect(&direct_url).await.close().await.unwrap();
        let url = bouncer.url(&name);
        let store = Store::connect(&url, &PoolSettings::default(), audit_key())
            .await
            .unwrap();
        assert!(store.through_pgbouncer());
        TestDb {
            store,
            url,
            direct_url,
            _sqlite_dir: None,
            _postgres: Some(server),
            _pgbouncer: Some(bouncer),
        }
    }

    /// Runs SQL behind the store's back (to tamper with rows).
    pub async fn execute_raw(&self, sql: &str) -> u64 {
        let raw: DatabaseConnection = Database::connect(&self.direct_url).await.unwrap();
        let result = raw.execute_unprepared(sql).await.unwrap();
        raw.close().await.unwrap();
        result.rows_affected()
    }

    /// Number of audit rows with the given action and outcome.
    pub async fn audit_count(&self, action: &str, outcome: &str) -> usize {
        self.store
            .list_audit(None, None, 10_000)
            .await
            .unwrap()
            .iter()
            .filter(|row| row.action == action && row.outcome == outcome)
            .count()
    }
}

async fn connect(url: &str) -> Store {
    let store = Store::connect(url, &PoolSettings::default(), audit_key())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn next_database_name() -> String {
    format!(
        "store_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    )
}

/// The PgBouncer in front of the shared PostgreSQL (started with it, stopped with the last
/// test holding it).
pub fn shared_pgbouncer(server: &Postgres) -> Arc<PgBouncer> {
    let mut slot = SHARED_PGBOUNCER
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(bouncer) = slot.upgrade() {
        return bouncer;
    }
    let bouncer = Arc::new(PgBouncer::start(server).expect("start pgbouncer"));
    *slot = Arc::downgrade(&bouncer);
    bouncer
}

pub fn shared_postgres() -> Arc<Postgres> {
    let mut slot = SHARED_POSTGRES
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(server) = slot.upgrade() {
        return server;
    }
    let server = Arc::new(Postgres::start().expect("start postgres"));
    *slot = Arc::downgrade(&server);
    server
}

/// A typical admin audit entry.
pub fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry::new("cli", action, target).from_request("req-1", "127.0.0.1")
}

/// One test of `$scenario` on the database `TestDb::$backend()` makes, named after it.
macro_rules! backend_test {
    ($scenario:ident, $backend:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $backend() {
            let db = crate::helpers::TestDb::$backend().await;
            super::$scenario(&db).await;
        }
    };
}
pub(crate) use backend_test;

/// Runs an `async fn(&TestDb)` scenario on SQLite and PostgreSQL, for scenarios that migrate
/// or import (which need a direct connection).
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                crate::helpers::backend_test!($scenario, sqlite);
                crate::helpers::backend_test!($scenario, postgres);
            }
        )+
    };
}
pub(crate) use on_both_backends;

/// Runs an `async fn(&TestDb)` scenario as three tests: SQLite, PostgreSQL, and PostgreSQL
/// through PgBouncer in transaction mode.
macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                crate::helpers::backend_test!($scenario, sqlite);
                crate::helpers::backend_test!($scenario, postgres);
                crate::helpers::backend_test!($scenario, pgbouncer);
            }
        )+
    };
}
pub(crate) use on_every_backend;
