//! Test databases. PostgreSQL servers are shared by the tests that run at the same time
//! (each test gets its own database) and stopped as soon as no test holds them: the shared
//! slot keeps only a `Weak`, so nothing outlives the test binary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use cryptoserve_store::{AuditEntry, AuditKey, PoolSettings, Store};
use cryptoserve_testkit::postgres::Postgres;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

static SHARED_POSTGRES: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// The audit key every test store uses.
pub fn audit_key() -> AuditKey {
    AuditKey::new([7; 32])
}

/// A migrated store plus whatever keeps its database alive.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    _postgres: Option<Arc<Postgres>>,
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
            url,
            _sqlite_dir: Some(dir),
            _postgres: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let server = shared_postgres();
        let name = format!(
            "store_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
        );
        let url = server.create_database(&name).unwrap();
        let store = connect(&url).await;
        TestDb {
            store,
            url,
            _sqlite_dir: None,
            _postgres: Some(server),
        }
    }

    /// Runs SQL behind the store's back (to tamper with rows).
    pub async fn execute_raw(&self, sql: &str) -> u64 {
        let raw: DatabaseConnection = Database::connect(&self.url).await.unwrap();
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

fn shared_postgres() -> Arc<Postgres> {
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

/// Runs an `async fn(&TestDb)` scenario on both backends as two tests.
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db = crate::helpers::TestDb::sqlite().await;
                    super::$scenario(&db).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let db = crate::helpers::TestDb::postgres().await;
                    super::$scenario(&db).await;
                }
            }
        )+
    };
}
pub(crate) use on_both_backends;
