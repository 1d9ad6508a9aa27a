//! TLS for the main listener: rustls (ring provider), optional mutual TLS, reload without a
//! restart.
//!
//! - `material.rs`: reading the PEM files (pair checked to match, CA bundle → verifier).
//! - `reloadable.rs`: the certificate resolver and client verifier a reload swaps behind the
//!   `ServerConfig` built once at start.
//! - `reload.rs`: the task that reloads when the files change or on SIGHUP.
//! - `dev_cert.rs`: `cryptoserve tls dev-cert`, a development CA and certificates (rcgen).
//!
//! [`ServerTls`] owns the live material and its status (shown in `/health/deep`, exported as
//! metrics). A failed reload keeps the previous pair serving, logs an error and raises
//! `cryptoserve_tls_reload_failing`.

pub mod dev_cert;
pub mod material;
pub mod reload;
pub mod reloadable;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use rustls::server::danger::ClientCertVerifier;
use rustls::ServerConfig;
use sha2::{Digest as _, Sha256};

use crate::metrics::TlsMetrics;
use reloadable::{ReloadableCert, ReloadableVerifier};

/// The files TLS is configured from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA bundle for client certificates (mutual TLS), if required.
    pub client_ca: Option<PathBuf>,
}

/// What `/health/deep` shows about the served certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsStatus {
    /// Subject of the served leaf certificate.
    pub subject: String,
    /// Its expiry, Unix seconds.
    pub not_after: i64,
    /// The error of the last reload attempt, if it failed (the old pair is still served).
    pub reload_error: Option<String>,
}

/// The live TLS material of the main listener.
#[derive(Debug)]
pub struct ServerTls {
    files: TlsFiles,
    cert: Arc<ReloadableCert>,
    verifier: Option<Arc<ReloadableVerifier>>,
    status: Mutex<TlsStatus>,
    /// Digest of the file contents last tried, so an unchanged (or unchanged broken) set is
    /// not reloaded again on every check.
    last_digest: Mutex<[u8; 32]>,
    metrics: TlsMetrics,
}

impl ServerTls {
    /// Loads the files; any problem is a startup error.
    pub fn load(files: TlsFiles, metrics: TlsMetrics) -> anyhow::Result<Self> {
        let digest = digest_files(&files);
        let (pair, verifier) = read(&files)?;
        let verifier = verifier.map(|v| Arc::new(ReloadableVerifier::new(v)));
        metrics.certificate_expiry.set(pair.not_after);
        metrics.reload_failing.set(0);
        tracing::info!(
            subject = %pair.subject,
            not_after = pair.not_after,
            client_auth = verifier.is_some(),
            "TLS certificate loaded"
        );
        Ok(Self {
            cert: Arc::new(ReloadableCert::new(pair.key)),
            verifier,
            status: Mutex::new(TlsStatus {
                subject: pair.subject,
                not_after: pair.not_after,
                reload_error: None,
            }),
            last_digest: Mutex::new(digest),
            files,
            metrics,
        })
    }

    /// The rustls configuration of the listener: TLS 1.2 and 1.3 with rustls' safe defaults,
    /// the reloadable certificate, client certificates required when a CA is configured.
    /// actix adds the ALPN protocol `http/1.1` (built without HTTP/2, see the workspace manifest).
    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let builder = ServerConfig::builder_with_provider(material::provider())
            .with_safe_default_protocol_versions()?;
        let builder = match &self.verifier {
            Some(verifier) => builder
                .with_client_cert_verifier(Arc::clone(verifier) as Arc<dyn ClientCertVerifier>),
            None => builder.with_no_client_auth(),
        };
        Ok(builder.with_cert_resolver(Arc::clone(&self.cert) as _))
    }

    /// Whether clients must present a certificate.
    pub fn client_auth(&self) -> bool {
        self.verifier.is_some()
    }

    /// A snapshot of the served certificate and the last reload.
    pub fn status(&self) -> TlsStatus {
        self.status.lock().clone()
    }

    /// Reloads when the files' contents differ from the last attempt (or always, when
    /// `force`). Returns whether an attempt was made. A failure keeps the served material.
    pub fn reload_if_changed(&self, force: bool) -> bool {
        let digest = digest_files(&self.files);
        {
            let mut last = self.last_digest.lock();
            if !force && *last == digest {
                return false;
            }
            *last = digest;
        }
        match self.load_all() {
            Ok(()) => {
                self.metrics.reloads.with_label_values(&["success"]).inc();
                self.metrics.reload_failing.set(0);
            }
            Err(error) => {
                let message = format!("{error:#}");
                tracing::error!(
                    error = %message,
                    "TLS certificate reload FAILED: still serving the previous certificate"
                );
                self.metrics.reloads.with_label_values(&["failure"]).inc();
                self.metrics.reload_failing.set(1);
                self.status.lock().reload_error = Some(message);
            }
        }
        true
    }

    /// Loads everything first, then swaps: either all new material is served or none.
    fn load_all(&self) -> anyhow::Result<()> {
        let (pair, verifier) = read(&self.files)?;
        self.cert.replace(pair.key);
        if let (Some(new), Some(slot)) = (verifier, &self.verifier) {
            slot.replace(new);
        }
        self.metrics.certificate_expiry.set(pair.not_after);
        tracing::info!(
            subject = %pair.subject,
            not_after = pair.not_after,
            "TLS certificate reloaded: new handshakes use it"
        );
        *self.status.lock() = TlsStatus {
            subject: pair.subject,
            not_after: pair.not_after,
            reload_error: None,
        };
        Ok(())
    }
}

/// The pair, and the client verifier when a client CA is configured.
fn read(
    files: &TlsFiles,
) -> anyhow::Result<(material::LoadedPair, Option<Arc<dyn ClientCertVerifier>>)> {
    let pair = material::load_pair(&files.cert, &files.key)?;
    let verifier = files
        .client_ca
        .as_deref()
        .map(material::load_client_verifier)
        .transpose()?;
    Ok((pair, verifier))
}

/// SHA-256 over the files' contents (an unreadable file contributes its error kind), so any
/// change — including a Kubernetes secret's symlink swap — is seen.
fn digest_files(files: &TlsFiles) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for path in [
        Some(&files.cert),
        Some(&files.key),
        files.client_ca.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        match std::fs::read(path) {
            Ok(bytes) => {
                hasher.update((bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
            Err(error) => hasher.update(format!("unreadable: {:?}", error.kind())),
        }
    }
    hasher.finalize().into()
}
