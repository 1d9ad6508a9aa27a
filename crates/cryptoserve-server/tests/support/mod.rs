//! Test harness: the real application on port 0, with helpers to call it.
//!
//! `spawn_app` builds exactly what `cryptoserve serve` builds (`Application::build_with_listener`)
//! with a fresh SQLite file by default, or a PostgreSQL / Redis URL from the testkit.
//! Several apps can share one database and one set of secrets to act as a cluster.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::PathBuf;

use secrecy::SecretString;
use serde_json::{json, Value};

use cryptoserve_server::auth::identities::{create_identity, IdentityRequest};
use cryptoserve_server::auth::TokenService;
use cryptoserve_server::config::{secrets, Settings};
use cryptoserve_server::startup::{connect_store, Application, StartOptions};
use cryptoserve_store::{AuditEntry, Role};

/// Secrets shared by every instance of one test "deployment".
#[derive(Clone, Debug)]
pub struct Deployment {
    pub master_key: String,
    pub jwt_secret: String,
    pub hkdf_salt: String,
    /// `None`: a fresh SQLite file per deployment.
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Whether instances migrate at start (not through PgBouncer: the schema is applied over a
    /// direct connection first).
    pub migrate: bool,
    pub data_dir: PathBuf,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

impl Deployment {
    /// Fresh secrets and a fresh SQLite database.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
        Self::with_database(url, dir)
    }

    /// Fresh secrets on the given database URL.
    pub fn database(url: impl Into<String>) -> Self {
        Self::with_database(url.into(), tempfile::tempdir().unwrap())
    }

    fn with_database(database_url: String, dir: tempfile::TempDir) -> Self {
        let generated = secrets::generate().unwrap();
        Self {
            master_key: generated.master_key.to_string(),
            jwt_secret: generated.jwt_secret.to_string(),
            hkdf_salt: generated.hkdf_salt,
            database_url,
            redis_url: None,
            migrate: true,
            data_dir: dir.path().to_path_buf(),
            _dir: std::sync::Arc::new(dir),
        }
    }

    /// Uses Redis for rate limiting.
    pub fn with_redis(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Settings for one instance of this deployment.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::load_from(None, |_| None).unwrap();
        settings.data_dir = self.data_dir.clone();
        settings.master_key = Some(SecretString::from(self.master_key.clone()));
        settings.jwt_secret_key = Some(SecretString::from(self.jwt_secret.clone()));
        settings.hkdf_salt = Some(SecretString::from(self.hkdf_salt.clone()));
        settings.database_url = Some(SecretString::from(self.database_url.clone()));
        settings.redis_url = self.redis_url.clone().map(SecretString::from);
        settings.shutdown_delay = 0;
        settings.shutdown_timeout = 5;
        settings.workers = Some(2);
        settings
    }

    /// Starts one instance with default settings.
    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(|_| {}).await
    }

    /// Starts one instance after `tweak` adjusts its settings.
    pub async fn spawn_with(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings();
        tweak(&mut settings);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build_with_listener(
            settings.clone(),
            StartOptions {
                migrate: self.migrate,
            },
            listener,
        )
        .await
        .expect("application builds");
        let port = app.port();
        let handle = tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: reqwest::Client::builder().build().unwrap(),
            settings,
            handle,
            deployment: self.clone(),
        }
    }
}

/// A running instance.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Keeps the deployment's temp dir alive as long as any instance runs.
    pub deployment: Deployment,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl TestApp {
    /// Creates an identity directly in the store (as the CLI does) and returns its token.
    pub async fn token(&self, role: Role, contexts: &[&str]) -> String {
        let resolved = secrets::resolve(&self.settings).unwrap();
        let store = connect_store(&self.settings, &resolved).await.unwrap();
        let tokens = TokenService::new(
            &resolved.jwt_secret,
            &self.settings.jwt_issuer,
            &self.settings.jwt_audience,
        );
        let (_, token) = create_identity(
            &store,
            &tokens,
            IdentityRequest {
                name: "test".into(),
                role,
                contexts: contexts.iter().map(|c| c.to_string()).collect(),
                expires_in_days: None,
            },
            AuditEntry::new("test", "identity.create", "test"),
        )
        .await
        .unwrap();
        store.close().await.unwrap();
        token
    }

    /// An admin token.
    pub async fn admin_token(&self) -> String {
        self.token(Role::Admin, &[]).await
    }

    /// POST JSON with a bearer token.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// PUT JSON with a bearer token.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(format!("{}{path}", self.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// DELETE with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .delete(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Creates a context (asserting success) and returns its JSON.
    pub async fn create_context(&self, admin: &str, name: &str, algorithm: &str) -> Value {
        let response = self
            .post(
                "/api/admin/contexts",
                admin,
                &json!({ "name": name, "algorithm": algorithm }),
            )
            .await;
        assert_eq!(response.status(), 201, "creating context {name}");
        response.json().await.unwrap()
    }

    /// Encrypts `plaintext` (raw bytes) and returns the ciphertext text.
    pub async fn encrypt(&self, token: &str, context: &str, plaintext: &[u8]) -> String {
        let response = self
            .post(
                "/api/v1/crypto/encrypt",
                token,
                &json!({ "context": context, "plaintext": b64(plaintext) }),
            )
            .await;
        assert_eq!(response.status(), 200, "encrypt");
        let body: Value = response.json().await.unwrap();
        body["ciphertext"].as_str().unwrap().to_owned()
    }

    /// Decrypts and returns the raw response.
    pub async fn decrypt_response(
        &self,
        token: &str,
        context: &str,
        ciphertext: &str,
    ) -> reqwest::Response {
        self.post(
            "/api/v1/crypto/decrypt",
            token,
            &json!({ "context": context, "ciphertext": ciphertext }),
        )
        .await
    }

    /// Decrypts (asserting success) and returns the plaintext bytes.
    pub async fn decrypt(&self, token: &str, context: &str, ciphertext: &str) -> Vec<u8> {
        let response = self.decrypt_response(token, context, ciphertext).await;
        assert_eq!(response.status(), 200, "decrypt");
        let body: Value = response.json().await.unwrap();
        unb64(body["plaintext"].as_str().unwrap())
    }
}

/// The sum of every sample of `name` in `/metrics` whose labels contain `labels`.
pub async fn metric(app: &TestApp, name: &str, labels: &str) -> f64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    cryptoserve_testkit::metrics::sum(&text, name, labels)
}

/// Standard base64.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 decode.
pub fn unb64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Asserts the one error shape and returns the code.
pub async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(body["error"]["message"].is_string(), "error.message");
    assert_eq!(
        body["error"]["request_id"].as_str().map(str::to_owned),
        request_id,
        "error.request_id matches X-Request-ID"
    );
    (status, code)
}
