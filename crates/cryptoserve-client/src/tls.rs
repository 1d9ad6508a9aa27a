//! TLS: which CAs the client trusts and which certificate it presents (PEM files, read and
//! checked when the client is built, so a bad file fails at once and names itself), and what
//! a failed handshake was about (read from the rustls error inside reqwest's).
//!
//! With a CA file only its certificates are trusted, like `curl --cacert` or `VAULT_CACERT`;
//! without one the built-in web roots apply. The handshake uses rustls with the ring provider.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError};
use zeroize::Zeroizing;

use crate::config::{ENV_CLIENT_CERT, ENV_CLIENT_KEY};
use crate::error::{Error, Result};

/// The TLS files a client is configured with; read by [`TlsFiles::apply`].
#[derive(Debug, Default, Clone)]
pub(crate) struct TlsFiles {
    /// PEM CA certificates to trust instead of the built-in roots.
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate (chain allowed) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Its PEM private key.
    pub client_key: Option<PathBuf>,
}

impl TlsFiles {
    /// Reads the files into `builder`: the CA bundle replaces the built-in roots, the client
    /// certificate and key become the identity presented when a server asks for one.
    pub(crate) fn apply(&self, builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
        let mut builder = builder;
        if let Some(path) = &self.ca_cert {
            builder = builder.tls_built_in_root_certs(false);
            for certificate in read_ca_bundle(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        match (&self.client_cert, &self.client_key) {
            (None, None) => {}
            (Some(cert), Some(key)) => builder = builder.identity(read_identity(cert, key)?),
            (Some(cert), None) => {
                return Err(Error::Config(format!(
                    "client certificate {} has no key: set {ENV_CLIENT_KEY} too",
                    cert.display()
                )))
            }
            (None, Some(key)) => {
                return Err(Error::Config(format!(
                    "client key {} has no certificate: set {ENV_CLIENT_CERT} too",
                    key.display()
                )))
            }
        }
        Ok(builder)
    }
}

/// Every certificate of a PEM bundle, each checked to be usable as a trust anchor.
fn read_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let bad = |detail: String| file_error("CA file", path, detail);
    let pem = std::fs::read(path).map_err(|error| bad(error.to_string()))?;
    let mut anchors = rustls::RootCertStore::empty();
    let mut certificates = Vec::new();
    for item in CertificateDer::pem_slice_iter(&pem) {
        let der = item.map_err(|error| bad(format!("not valid PEM ({error})")))?;
        anchors
            .add(der.clone())
            .map_err(|error| bad(format!("a certificate cannot be used as a CA ({error})")))?;
        let certificate = reqwest::Certificate::from_der(&der)
            .map_err(|error| bad(format!("a certificate cannot be used ({error})")))?;
        certificates.push(certificate);
    }
    if certificates.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certificates)
}

/// The client certificate chain and its key, checked to belong together.
fn read_identity(cert_path: &Path, key_path: &Path) -> Result<reqwest::Identity> {
    let bad_cert = |detail: String| file_error("client certificate", cert_path, detail);
    // Never quotes the key: only that file's name and what is wrong with it.
    let bad_key = |detail: String| file_error("client key", key_path, detail);
    let cert_pem = std::fs::read(cert_path).map_err(|error| bad_cert(error.to_string()))?;
    let key_pem =
        Zeroizing::new(std::fs::read(key_path).map_err(|error| bad_key(error.to_string()))?);
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|error| bad_cert(format!("not valid PEM ({error})")))?;
    if chain.is_empty() {
        return Err(bad_cert("holds no PEM certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        bad_key("holds no PEM private key (PKCS#8, SEC1 or PKCS#1) that can be read".into())
    })?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, key, &provider).map_err(|error| match error {
        rustls::Error::InconsistentKeys(_) => bad_cert(format!(
            "does not match the key {} ({error})",
            key_path.display()
        )),
        other => bad_key(format!("cannot be used ({other})")),
    })?;
    // reqwest wants one PEM with the chain and the key; it lives only as long as this call.
    let mut both = Zeroizing::new(cert_pem);
    both.push(b'\n');
    both.extend_from_slice(&key_pem);
    reqwest::Identity::from_pem(&both)
        .map_err(|error| bad_key(format!("cannot be used with its certificate ({error})")))
}

fn file_error(what: &'static str, path: &Path, detail: String) -> Error {
    Error::TlsFile {
        what,
        path: path.to_path_buf(),
        detail,
    }
}

/// What a failed TLS handshake was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate does not chain to a trusted CA (set `CRYPTOSERVE_CACERT` to
    /// the CA that issued it); also when a trusted CA's name is on it but its signature does
    /// not verify (another CA of the same name).
    UnknownIssuer,
    /// The server's certificate has expired.
    Expired,
    /// The server's certificate is not valid yet (or this machine's clock is behind).
    NotYetValid,
    /// The server's certificate does not name the host in the address.
    WrongHost,
    /// Any other problem with the server's certificate (bad signature, wrong purpose, ...).
    BadCertificate,
    /// The server requires a client certificate and none was configured.
    ClientCertificateRequired,
    /// The server refused the client certificate (unknown CA, expired, ...).
    ClientCertificateRefused,
    /// Any other TLS failure (no common protocol version, a plain-HTTP server, ...).
    Other,
}

impl TlsFailure {
    /// A short explanation and what to do about it, for people (ends [`Error::Tls`]'s
    /// message).
    ///
    /// [`Error::Tls`]: crate::Error::Tls
    pub fn explanation(self) -> &'static str {
        match self {
            Self::UnknownIssuer => {
                "the server's certificate is not signed by a trusted CA; CRYPTOSERVE_CACERT \
                 names the CA file to trust"
            }
            Self::Expired => "the server's certificate has expired",
            Self::NotYetValid => "the server's certificate is not valid yet; check the clocks",
            Self::WrongHost => "the server's certificate does not name the host in the address",
            Self::BadCertificate => "the server's certificate is not acceptable",
            Self::ClientCertificateRequired => {
                "the server requires a client certificate: CRYPTOSERVE_CLIENT_CERT and \
                 CRYPTOSERVE_CLIENT_KEY name it and its key"
            }
            Self::ClientCertificateRefused => {
                "the server refused the client certificate: is it from the server's client CA?"
            }
            Self::Other => "the TLS connection could not be set up; is the server speaking TLS?",
        }
    }
}

/// The rustls error somewhere in `error`'s chain, classified, and its message.
pub(crate) fn failure_of(error: &reqwest::Error) -> Option<(TlsFailure, String)> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some((classify(tls), tls.to_string()));
        }
        next = match current.downcast_ref::<std::io::Error>() {
            // An `io::Error`'s `source()` skips the error it wraps: step into that one instead
            // (hyper-rustls wraps rustls' error in one, and hyper-util that in another).
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

fn classify(error: &rustls::Error) -> TlsFailure {
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            // A bad signature on the server's certificate: a trusted CA's name but another key
            // (every `tls dev-cert` CA has the same name), so no trusted CA vouches for it.
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                TlsFailure::UnknownIssuer
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsFailure::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsFailure::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::WrongHost
            }
            _ => TlsFailure::BadCertificate,
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            TlsFailure::ClientCertificateRequired
        }
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
            // What rustls sends when the signature on the client certificate does not verify
            // (a CA of the same name but another key).
            | AlertDescription::DecryptError,
        ) => TlsFailure::ClientCertificateRefused,
        _ => TlsFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn pair(name: &str) -> (String, String) {
        let issued = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (issued.cert.pem(), issued.key_pair.serialize_pem())
    }

    fn write(dir: &tempfile::TempDir, name: &str, contents: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn apply(files: TlsFiles) -> Result<reqwest::Client> {
        let builder = files.apply(reqwest::Client::builder())?;
        Ok(builder.build().unwrap())
    }

    #[test]
    fn a_ca_bundle_and_a_matching_certificate_and_key_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let ((ca_one, _), (ca_two, _)) = (pair("ca-one"), pair("ca-two"));
        let (cert, key) = pair("client");
        let files = TlsFiles {
            ca_cert: Some(write(&dir, "bundle.pem", &format!("{ca_one}\n{ca_two}"))),
            client_cert: Some(write(&dir, "client.crt", &cert)),
            client_key: Some(write(&dir, "client.key", &key)),
        };
        apply(files).unwrap();
    }

    #[test]
    fn unusable_files_are_errors_that_name_the_file_and_never_quote_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair("client");
        let (_, other_key) = pair("other");
        let cert_path = write(&dir, "client.crt", &cert);
        let key_path = write(&dir, "client.key", &key);
        let assert_file_error = |files: TlsFiles, what: &str, name: &str, detail: &str| {
            let error = apply(files).unwrap_err();
            let Error::TlsFile {
                what: actual, path, ..
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!(*actual, what, "{error}");
            assert!(path.ends_with(name), "{error}");
            let message = error.to_string();
            assert!(message.contains(detail), "{message}");
            assert!(!message.contains("PRIVATE KEY"), "{message}");
        };
        let ca = |path: PathBuf| TlsFiles {
            ca_cert: Some(path),
            ..TlsFiles::default()
        };
        let identity = |cert: &PathBuf, key: &PathBuf| TlsFiles {
            client_cert: Some(cert.clone()),
            client_key: Some(key.clone()),
            ..TlsFiles::default()
        };

        assert_file_error(
            ca(dir.path().join("absent.pem")),
            "CA file",
            "absent.pem",
            "",
        );
        let text = write(&dir, "text.pem", "not a certificate\n");
        assert_file_error(ca(text), "CA file", "text.pem", "holds no PEM certificate");
        assert_file_error(
            ca(key_path.clone()),
            "CA file",
            "client.key",
            "no PEM certificate",
        );
        let broken = "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
        let broken = write(&dir, "broken.pem", broken);
        assert_file_error(ca(broken), "CA file", "broken.pem", "not valid PEM");

        let swapped = identity(&key_path, &cert_path);
        assert_file_error(
            swapped,
            "client certificate",
            "client.key",
            "no PEM certificate",
        );
        let no_key = identity(&cert_path, &cert_path);
        assert_file_error(no_key, "client key", "client.crt", "no PEM private key");
        let mismatched = identity(&cert_path, &write(&dir, "other.key", &other_key));
        assert_file_error(
            mismatched,
            "client certificate",
            "client.crt",
            "does not match",
        );

        for half in [
            TlsFiles {
                client_cert: Some(cert_path.clone()),
                ..TlsFiles::default()
            },
            TlsFiles {
                client_key: Some(key_path.clone()),
                ..TlsFiles::default()
            },
        ] {
            let error = apply(half).unwrap_err();
            assert!(matches!(error, Error::Config(_)), "{error:?}");
            assert!(error.to_string().contains("CRYPTOSERVE_CLIENT_"), "{error}");
        }
    }
}
