//! The handful of API calls that prepare a setup: a context, raised rate-limit defaults,
//! a ciphertext for the decrypt scenario, and the Transit calls (mount, key, one encrypt
//! that proves the route answers before wrk runs). Load itself always comes from wrk.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::{io_err, BenchError, Result};

/// Defaults the benchmark raises every dimension to: the largest values the admin API
/// accepts (`MAX_REQUESTS_PER_MINUTE`, `MAX_BURST_SIZE` in the server), far above what
/// this machine can reach, so the limiter decides but never refuses.
pub const RAISED_REQUESTS_PER_MINUTE: u32 = 10_000_000;
/// See [`RAISED_REQUESTS_PER_MINUTE`]; also covers a batch of 100 (cost 100).
pub const RAISED_BURST_SIZE: u32 = 1_000_000;

/// What the setup client trusts when a setup serves TLS: the setup's CA only, and, where the
/// servers require client certificates (the cluster's backends), the certificate to present.
#[derive(Debug, Clone)]
pub struct TlsTrust {
    /// PEM CA certificate (`cryptoserve tls dev-cert`'s `ca.crt`).
    pub ca_cert: PathBuf,
    /// PEM client certificate and key, for servers that require one.
    pub client_identity: Option<(PathBuf, PathBuf)>,
}

/// A small blocking client over one server (or nginx) with an admin token.
#[derive(Debug)]
pub struct Api {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    token: String,
    /// Send the token as `X-Vault-Token` (Transit) rather than `Authorization: Bearer`.
    vault_header: bool,
}

impl Api {
    /// A client authenticating with `Authorization: Bearer <token>`; `tls` when the setup
    /// serves TLS.
    pub fn new(token: &str, tls: Option<&TlsTrust>) -> Result<Api> {
        Api::build(token, false, tls)
    }

    /// A client authenticating with `X-Vault-Token: <token>`, as Transit clients do.
    pub fn vault(token: &str, tls: Option<&TlsTrust>) -> Result<Api> {
        Api::build(token, true, tls)
    }

    fn build(token: &str, vault_header: bool, tls: Option<&TlsTrust>) -> Result<Api> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("starting the setup client's runtime"))?;
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // A fresh connection per call: setup calls come minutes apart, after the server
            // may have closed an idle kept-alive one.
            .pool_max_idle_per_host(0);
        let builder = match tls {
            Some(trust) => trust.apply(builder)?,
            None => builder,
        };
        let client = builder
            .build()
            .map_err(|error| http_err("building the setup client", error))?;
        Ok(Api {
            runtime,
            client,
            token: token.to_owned(),
            vault_header,
        })
    }

    /// Sends one JSON request; returns status, the `X-RateLimit-Limit` header and the body.
    fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: &Value,
    ) -> Result<(u16, Option<u64>, Value)> {
        let what = format!("{method} {url}");
        self.runtime.block_on(async {
            let request = self.client.request(method, url);
            let request = if self.vault_header {
                request.header("X-Vault-Token", &self.token)
            } else {
                request.bearer_auth(&self.token)
            };
            let response = request
                .json(body)
                .send()
                .await
                .map_err(|error| http_err(&what, error))?;
            let status = response.status().as_u16();
            let limit = response
                .headers()
                .get("X-RateLimit-Limit")
                .and_then(|value| value.to_str().ok()?.parse().ok());
            let body = response.json().await.unwrap_or(Value::Null);
            Ok((status, limit, body))
        })
    }

    /// Creates context `name` (an existing one is fine).
    pub fn create_context(&self, base_url: &str, name: &str) -> Result<()> {
        let url = format!("{base_url}/api/admin/contexts");
        let (status, _, body) = self.send(reqwest::Method::POST, &url, &json!({ "name": name }))?;
        match status {
            200 | 201 | 409 => Ok(()),
            _ => Err(unexpected(&url, status, &body)),
        }
    }

    /// Raises the ip, identity and context defaults to the `RAISED_*` values.
    pub fn raise_rate_limits(&self, base_url: &str) -> Result<()> {
        self.set_rate_limits(base_url, true)
    }

    /// Switches the raised ip, identity and context defaults off (`enabled: false`), or back
    /// on. Batch scenarios need them off: at 100 items per request they outrun even the
    /// highest configurable limit (10,000,000 items a minute) within one run.
    pub fn set_rate_limits(&self, base_url: &str, enabled: bool) -> Result<()> {
        for dimension in ["ip", "identity", "context"] {
            let url = format!("{base_url}/api/admin/rate-limits/defaults/{dimension}");
            let body = json!({
                "requests_per_minute": RAISED_REQUESTS_PER_MINUTE,
                "burst_size": RAISED_BURST_SIZE,
                "enabled": enabled,
            });
            let (status, _, answer) = self.send(reqwest::Method::PUT, &url, &body)?;
            if status != 200 {
                return Err(unexpected(&url, status, &answer));
            }
        }
        Ok(())
    }

    /// Encrypts `plaintext` in `context`; returns the ciphertext and the rate limit in force.
    pub fn encrypt(
        &self,
        base_url: &str,
        context: &str,
        plaintext: &[u8],
    ) -> Result<(String, Option<u64>)> {
        let url = format!("{base_url}/api/v1/crypto/encrypt");
        let body = json!({ "context": context, "plaintext": STANDARD.encode(plaintext) });
        let (status, limit, answer) = self.send(reqwest::Method::POST, &url, &body)?;
        let ciphertext = answer.get("ciphertext").and_then(Value::as_str);
        match (status, ciphertext) {
            (200, Some(ciphertext)) => Ok((ciphertext.to_owned(), limit)),
            _ => Err(unexpected(&url, status, &answer)),
        }
    }

    /// Waits until `base_url` (one backend) applies the raised limits: in a cluster the
    /// change reaches the other instances over Redis pub/sub, a moment later.
    pub fn wait_for_raised_limits(&self, base_url: &str, context: &str) -> Result<()> {
        self.wait_for_limits(base_url, context, true)
    }

    /// Waits until `base_url` applies the raised limits (`enabled`) or none at all (no
    /// `X-RateLimit-Limit` header).
    pub fn wait_for_limits(&self, base_url: &str, context: &str, enabled: bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, limit) = self.encrypt(base_url, context, b"probe")?;
            let applied = match limit {
                Some(limit) => enabled && limit >= u64::from(RAISED_REQUESTS_PER_MINUTE),
                None => !enabled,
            };
            if applied {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(BenchError::Http {
                    what: format!("rate limits (enabled: {enabled}) at {base_url}"),
                    detail: format!("X-RateLimit-Limit still {limit:?} after 15 s"),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The Transit calls, answered alike by OpenBao and CryptoServe.
impl Api {
    /// Mounts the Transit engine at `transit/` (OpenBao; CryptoServe has it built in).
    pub fn enable_transit(&self, base_url: &str) -> Result<()> {
        let url = format!("{base_url}/v1/sys/mounts/transit");
        let (status, _, body) =
            self.send(reqwest::Method::POST, &url, &json!({ "type": "transit" }))?;
        match status {
            200 | 204 => Ok(()),
            _ => Err(unexpected(&url, status, &body)),
        }
    }

    /// Creates the AES-256-GCM Transit key `key` (an existing one is fine).
    pub fn create_transit_key(&self, base_url: &str, key: &str) -> Result<()> {
        let url = format!("{base_url}/v1/transit/keys/{key}");
        let body = json!({ "type": "aes256-gcm96" });
        let (status, _, answer) = self.send(reqwest::Method::POST, &url, &body)?;
        match status {
            200 | 204 => Ok(()),
            _ => Err(transit_unexpected(&url, status, &answer)),
        }
    }

    /// Encrypts `plaintext` with Transit key `key`; returns the `vault:v<N>:…` ciphertext.
    /// Run once before the Transit scenario so that a missing route or key fails the setup
    /// with the server's answer instead of a wrk run full of errors.
    pub fn transit_encrypt(&self, base_url: &str, key: &str, plaintext: &[u8]) -> Result<String> {
        let url = format!("{base_url}/v1/transit/encrypt/{key}");
        let body = json!({ "plaintext": STANDARD.encode(plaintext) });
        let (status, _, answer) = self.send(reqwest::Method::POST, &url, &body)?;
        let ciphertext = answer
            .pointer("/data/ciphertext")
            .and_then(Value::as_str)
            .filter(|ciphertext| ciphertext.starts_with("vault:v"));
        match (status, ciphertext) {
            (200, Some(ciphertext)) => Ok(ciphertext.to_owned()),
            _ => Err(transit_unexpected(&url, status, &answer)),
        }
    }
}

impl TlsTrust {
    /// Trust only the CA (not the built-in public roots) and present the client identity.
    pub(crate) fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(io_err(format!("reading {}", path.display())))
        };
        let ca = reqwest::Certificate::from_pem(&read(&self.ca_cert)?)
            .map_err(|error| http_err("loading the setup's CA certificate", error))?;
        let mut builder = builder
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca);
        if let Some((cert, key)) = &self.client_identity {
            let mut pem = read(cert)?;
            pem.extend(read(key)?);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|error| http_err("loading the client certificate", error))?;
            builder = builder.identity(identity);
        }
        Ok(builder)
    }
}

fn http_err(what: &str, error: reqwest::Error) -> BenchError {
    BenchError::Http {
        what: what.to_owned(),
        detail: error.to_string(),
    }
}

fn unexpected(url: &str, status: u16, body: &Value) -> BenchError {
    BenchError::Http {
        what: url.to_owned(),
        detail: format!("unexpected status {status}: {body}"),
    }
}

/// [`unexpected`], with a hint for 404/405: the Transit routes or the key are missing.
fn transit_unexpected(url: &str, status: u16, body: &Value) -> BenchError {
    let mut error = unexpected(url, status, body);
    if let (404 | 405, BenchError::Http { detail, .. }) = (status, &mut error) {
        detail.push_str(
            " (either this server has no Transit API under /v1/transit/, e.g. a binary built \
             before it, or it has no such key; the body above tells which)",
        );
    }
    error
}
