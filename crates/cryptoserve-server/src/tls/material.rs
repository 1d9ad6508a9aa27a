//! Reading certificate material from PEM files: the served pair (checked to match) and the
//! client CA bundle. Errors name the file and the problem, never key bytes.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;

/// The crypto provider every TLS object of the server is built with: ring, the one the
/// workspace already uses (no aws-lc, no OpenSSL).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its key, loaded and checked to belong together.
#[derive(Debug)]
pub struct LoadedPair {
    /// What the TLS stack serves.
    pub key: Arc<CertifiedKey>,
    /// The leaf's expiry, Unix seconds.
    pub not_after: i64,
    /// The leaf's subject, for logs.
    pub subject: String,
}

/// Loads `cert` (PEM chain, leaf first) and `key` (PEM PKCS#8, PKCS#1 or SEC1).
pub fn load_pair(cert: &Path, key: &Path) -> anyhow::Result<LoadedPair> {
    let chain = read_certificates(cert)?;
    let Some(leaf) = chain.first() else {
        bail!("{}: no PEM certificate in the file", cert.display());
    };
    let (not_after, subject) = leaf_details(leaf).with_context(|| cert.display().to_string())?;
    // The error of a failed parse can quote the file: keep only the path in ours.
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|_| anyhow!("{}: no readable PEM private key", key.display()))?;
    let signing = provider()
        .key_provider
        .load_private_key(private)
        .map_err(|e| anyhow!("{}: unusable private key: {e}", key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| {
        anyhow!(
            "{} and {} do not belong together: the key does not match the certificate",
            cert.display(),
            key.display()
        )
    })?;
    Ok(LoadedPair {
        key: Arc::new(certified),
        not_after,
        subject,
    })
}

/// Builds the client-certificate verifier from the CA bundle at `path`: every client must
/// present a certificate chaining to one of these CAs.
pub fn load_client_verifier(path: &Path) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(path)? {
        roots
            .add(certificate)
            .map_err(|e| anyhow!("{}: not a usable CA certificate: {e}", path.display()))?;
    }
    if roots.is_empty() {
        bail!("{}: no PEM certificate in the file", path.display());
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
    iter.collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{}: malformed PEM: {e}", path.display()))
}

/// Expiry (Unix seconds) and subject of a DER certificate.
pub fn leaf_details(der: &CertificateDer<'_>) -> anyhow::Result<(i64, String)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| anyhow!("not an X.509 certificate: {e}"))?;
    Ok((
        parsed.validity().not_after.timestamp(),
        parsed.subject().to_string(),
    ))
}
