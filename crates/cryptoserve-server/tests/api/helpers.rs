//! Shared pieces: the three database set-ups, raw requests, peeking at token claims, polling.
//!
//! PostgreSQL servers (and the PgBouncer in front of one) are shared by the tests that run at
//! the same time (each test gets its own database) and stopped as soon as no test holds them: the shared slot keeps only a
//! `Weak`, so nothing outlives the test binary.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use base64::Engine;
use cryptoserve_store::{AuditKey, PoolSettings, Store};
use cryptoserve_testkit::pgbouncer::PgBouncer;
use cryptoserve_testkit::postgres::Postgres;
use serde_json::{json, Value};

use crate::support::{Deployment, TestApp};

static SHARED_POSTGRES: Mutex<Weak<Postgres>> = Mutex::new(Weak::new());
static SHARED_PGBOUNCER: Mutex<Weak<PgBouncer>> = Mutex::new(Weak::new());
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);

/// A deployment on a fresh PostgreSQL database; keep the server handle alive for the test.
pub fn postgres_deployment() -> (Deployment, Arc<Postgres>) {
    let server = shared(&SHARED_POSTGRES, || {
        Postgres::start().expect("start postgres")
    });
    let url = server
        .create_database(&next_database_name())
        .expect("create database");
    (Deployment::database(url), server)
}

/// A deployment whose instances reach a fresh PostgreSQL database through PgBouncer in
/// transaction mode (`pgbouncer=true`, three server connections for up to 30 client
/// connections per instance); the schema is applied over a direct connection first, as the
/// docs prescribe. Keep the handles alive for the test.
pub async fn pgbouncer_deployment() -> (Deployment, Arc<Postgres>, Arc<PgBouncer>) {
    let server = shared(&SHARED_POSTGRES, || {
        Postgres::start().expect("start postgres")
    });
    let bouncer = shared(&SHARED_PGBOUNCER, || {
        PgBouncer::start(&server).expect("start pgbouncer")
    });
    let name = next_database_name();
    let direct = server.create_database(&name).expect("create database");
    let store = Store::connect(&direct, &PoolSettings::default(), AuditKey::new([0; 32]))
        .await
        .expect("direct connection");
    store.migrate().await.expect("migrations");
    store.close().await.expect("close");
    let mut deployment = Deployment::database(bouncer.url(&name));
    deployment.migrate = false;
    (deployment, server, bouncer)
}

/// The server in `slot` while any test holds it, else a new one from `start`.
fn shared<T>(slot: &Mutex<Weak<T>>, start: impl FnOnce() -> T) -> Arc<T> {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(server) = slot.upgrade() {
        return server;
    }
    let server = Arc::new(start());
    *slot = Arc::downgrade(&server);
    server
}

fn next_database_name() -> String {
    format!(
        "api_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs each `async fn(Deployment)` scenario as three tests: `sqlite`, `postgres`, and
/// `pgbouncer` (PostgreSQL through PgBouncer in transaction mode).
macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario(crate::support::Deployment::sqlite()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let (deployment, _server) = crate::helpers::postgres_deployment();
                    super::$scenario(deployment).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn pgbouncer() {
                    let (deployment, _server, _bouncer) =
                        crate::helpers::pgbouncer_deployment().await;
                    super::$scenario(deployment).await;
                }
            }
        )+
    };
}
pub(crate) use on_every_backend;

/// Raises every default rate limit far out of reach, for scenarios that make many calls.
pub async fn relax_rate_limits(app: &TestApp, admin: &str) {
    for dimension in ["ip", "identity", "context"] {
        let response = app
            .put(
                &format!("/api/admin/rate-limits/defaults/{dimension}"),
                admin,
                &json!({ "requests_per_minute": 10_000_000, "burst_size": 1_000_000 }),
            )
            .await;
        assert!(
            response.status().is_success(),
            "relaxing {dimension} limit: {}",
            response.status()
        );
    }
}

/// The claims of a JWT, without verifying it.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("payload is base64url");
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

/// The `X-Request-ID` of a response.
pub fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("X-Request-ID present")
        .to_str()
        .unwrap()
        .to_owned()
}

/// POSTs `body` as-is, with the given content type (or none).
pub async fn post_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

/// Calls `check` until it returns true or `limit` passes; returns whether it did.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates an identity through the admin API; returns `(id, token)`.
pub async fn create_identity(
    app: &TestApp,
    admin: &str,
    role: &str,
    contexts: &[&str],
) -> (String, String) {
    let response = app
        .post(
            "/api/admin/identities",
            admin,
            &json!({ "name": format!("{role}-identity"), "role": role, "contexts": contexts }),
        )
        .await;
    assert_eq!(response.status(), 201, "creating identity");
    let body: Value = response.json().await.unwrap();
    let id = body["identity"]["id"].as_str().unwrap().to_owned();
    let token = body["token"].as_str().unwrap().to_owned();
    (id, token)
}

/// Status of an encrypt call (for probing whether a token still works).
pub async fn encrypt_status(app: &TestApp, token: &str, context: &str) -> u16 {
    app.post(
        "/api/v1/crypto/encrypt",
        token,
        &json!({ "context": context, "plaintext": "aGk=" }),
    )
    .await
    .status()
    .as_u16()
}
