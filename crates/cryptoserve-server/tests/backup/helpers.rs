//! Deployments of the real binary: one set of secrets and one database each, with the
//! commands (`identity create`, `migrate`, `export`, `import`) and a `serve` process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_cryptoserve");

/// What every instance of one deployment shares (and a restore must be given again).
#[derive(Clone, Debug)]
pub struct Secrets {
    pub master_key: String,
    pub jwt_secret: String,
    pub hkdf_salt: String,
    /// `CRYPTOSERVE_PREVIOUS_MASTER_KEYS`.
    pub previous_master_keys: Option<String>,
}

impl Secrets {
    pub fn generate() -> Secrets {
        let generated = cryptoserve_server::config::secrets::generate().unwrap();
        Secrets {
            master_key: generated.master_key.to_string(),
            jwt_secret: generated.jwt_secret.to_string(),
            hkdf_salt: generated.hkdf_salt,
            previous_master_keys: None,
        }
    }
}

/// One database with its secrets and a data directory.
pub struct Deployment {
    pub secrets: Secrets,
    pub database_url: String,
    pub dir: tempfile::TempDir,
}

impl Deployment {
    pub fn new(secrets: &Secrets, database_url: impl Into<String>) -> Deployment {
        Deployment {
            secrets: secrets.clone(),
            database_url: database_url.into(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A new SQLite database file (not created yet).
    pub fn sqlite(secrets: &Secrets) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("restored.db").display()
        );
        Deployment {
            secrets: secrets.clone(),
            database_url: url,
            dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CRYPTOSERVE_DATA_DIR", self.dir.path().join("data"))
            .env("CRYPTOSERVE_MASTER_KEY", &self.secrets.master_key)
            .env("JWT_SECRET_KEY", &self.secrets.jwt_secret)
            .env("HKDF_SALT", &self.secrets.hkdf_salt)
            .env("DATABASE_URL", &self.database_url)
            .env("CRYPTOSERVE_LOG_FORMAT", "json")
            .env("CRYPTOSERVE_SHUTDOWN_DELAY", "0")
            .args(args)
            .stdin(Stdio::null());
        if let Some(previous) = &self.secrets.previous_master_keys {
            command.env("CRYPTOSERVE_PREVIOUS_MASTER_KEYS", previous);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    }

    pub fn admin_token(&self) -> String {
        let args = [
            "identity",
            "create",
            "--name",
            "admin",
            "--role",
            "admin",
            "--contexts",
            "*",
        ];
        self.run_ok(&args).trim().to_owned()
    }

    pub fn export(&self, file: &Path) -> Output {
        self.run(&["export", "--out", &file.display().to_string()])
    }

    pub fn import(&self, file: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["import".to_owned(), file.display().to_string()];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Exports into a scratch file and returns its `tables`.
    pub fn tables(&self) -> Value {
        let file = self.path("check.json");
        let output = self.export(&file);
        assert!(output.status.success(), "export: {}", stderr(&output));
        read_json(&file)["tables"].clone()
    }

    pub async fn serve(&self) -> Server {
        let port = cryptoserve_testkit::net::free_port().unwrap();
        let log = std::fs::File::create(self.path("serve.log")).unwrap();
        let child = self
            .command(&["serve"])
            .env("CRYPTOSERVE_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = server
                .client
                .get(format!("{}/health/ready", server.address))
                .send()
                .await;
            if ready.is_ok_and(|response| response.status() == 200) {
                return server;
            }
            let log = std::fs::read_to_string(self.path("serve.log")).unwrap_or_default();
            assert!(
                server.child.try_wait().unwrap().is_none(),
                "serve exited: {log}"
            );
            assert!(Instant::now() < deadline, "serve not ready: {log}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A running `cryptoserve serve`, killed on drop.
pub struct Server {
    child: Child,
    pub address: String,
    pub client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One encryption whose ciphertext must open after a restore.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub context: String,
    pub derivation: Option<String>,
    pub plaintext: String,
    pub ciphertext: String,
}

impl Server {
    /// Sends a JSON request; returns the status and the body (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let url = format!("{}{path}", self.address);
        let request = match method {
            "GET" => self.client.get(url),
            "PUT" => self.client.put(url).json(&body),
            "PATCH" => self.client.patch(url).json(&body),
            "DELETE" => self.client.delete(url),
            _ => self.client.post(url).json(&body),
        };
        let response = request.bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn encrypt(
        &self,
        token: &str,
        context: &str,
        derivation: Option<&str>,
        text: &str,
    ) -> (u16, Value) {
        let mut body = json!({ "context": context, "plaintext": b64(text.as_bytes()) });
        if let Some(derivation) = derivation {
            body["derivation_context"] = json!(b64(derivation.as_bytes()));
        }
        self.call("POST", "/api/v1/crypto/encrypt", token, body)
            .await
    }

    /// True when `sealed` decrypts to its plaintext.
    pub async fn opens(&self, token: &str, sealed: &Sealed) -> bool {
        let mut body = json!({ "context": sealed.context, "ciphertext": sealed.ciphertext });
        if let Some(derivation) = &sealed.derivation {
            body["derivation_context"] = json!(b64(derivation.as_bytes()));
        }
        let (status, body) = self
            .call("POST", "/api/v1/crypto/decrypt", token, body)
            .await;
        status == 200 && body["plaintext"] == json!(b64(sealed.plaintext.as_bytes()))
    }
}
