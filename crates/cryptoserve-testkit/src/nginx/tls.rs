//! nginx's TLS files and the TLS client that probes it.
//!
//! [`install`] copies the five files `nginx.scale.conf` names into `<prefix>/tls/`: nginx reads
//! them in the master process (as root when we are root), so the keys can stay `0600`.
//! [`Probe`] makes one HTTPS request on a fresh connection, trusting only the test CA, so a
//! certificate nginx cannot serve, or one that is not valid for `localhost`, fails the start
//! with the reason instead of a timeout alone.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::{io_err, Result, TestkitError};

/// The dir inside the prefix; `nginx.scale.conf` names its files relative to the config dir.
pub(super) const TLS_SUBDIR: &str = "tls";
/// The CA file nginx verifies backends with, also trusted by the probe.
pub(super) const CA_FILE: &str = "ca.crt";
/// Files nginx reads, with their mode in the prefix: certificates public, keys owner-only.
const FILES: [(&str, u32); 5] = [
    (CA_FILE, 0o644),
    ("server.crt", 0o644),
    ("server.key", 0o600),
    ("client.crt", 0o644),
    ("client.key", 0o600),
];
/// The name the probe checks nginx's certificate against.
const PROBE_SERVER_NAME: &str = "localhost";

/// Copies the TLS files from `source` into `<prefix>/tls/`. A key is created with mode 0600
/// before its contents are written, so it is never readable by others, not even briefly.
pub(super) fn install(source: &Path, prefix: &Path) -> Result<()> {
    let dir = prefix.join(TLS_SUBDIR);
    std::fs::create_dir(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io_err(format!("chmod 700 {}", dir.display())))?;
    for (name, mode) in FILES {
        let from = source.join(name);
        let contents = std::fs::read(&from).map_err(io_err(format!(
            "reading {} (the TLS dir must hold ca.crt, server.crt/.key and client.crt/.key)",
            from.display()
        )))?;
        let to = dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&to)
            .and_then(|mut file| file.write_all(&contents))
            .map_err(io_err(format!("writing {}", to.display())))?;
    }
    Ok(())
}

/// Why a probe got no answer.
#[derive(Debug)]
pub(super) enum ProbeFailure {
    /// nginx is not (yet) answering: refused, reset, timed out, a non-200 status. Worth
    /// another try.
    NotYet(String),
    /// nginx answered with a certificate the probe rejects (another CA, not valid for
    /// `localhost`, expired): trying again cannot help.
    Certificate(String),
}

impl ProbeFailure {
    /// Sorts an I/O error from the TLS stream: rustls reports a rejected certificate as an
    /// `InvalidData` error wrapping `rustls::Error::InvalidCertificate`.
    fn from_io(context: &str, error: &std::io::Error) -> ProbeFailure {
        let rejected = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|tls| matches!(tls, rustls::Error::InvalidCertificate(_)));
        if rejected {
            ProbeFailure::Certificate(format!("nginx's certificate was rejected: {error}"))
        } else {
            ProbeFailure::NotYet(format!("{context}: {error}"))
        }
    }
}

/// An HTTPS client for nginx's own endpoints that trusts only the given CA.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    /// Shared by every probe connection.
    config: Arc<ClientConfig>,
}

impl Probe {
    /// Trusts every certificate in the PEM file `ca_path`.
    pub(super) fn trusting(ca_path: &Path) -> Result<Probe> {
        let invalid = |reason: String| TestkitError::Tls {
            path: ca_path.to_path_buf(),
            reason,
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca_path).map_err(|e| invalid(e.to_string()))? {
            roots
                .add(cert.map_err(|e| invalid(e.to_string()))?)
                .map_err(|e| invalid(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(invalid("no certificate in the file".to_owned()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Probe {
            config: Arc::new(config),
        })
    }

    /// `GET path` over HTTPS on a new connection to `127.0.0.1:port`; the body of a 200, or
    /// why there was none.
    pub(super) fn get(&self, port: u16, path: &str) -> std::result::Result<String, ProbeFailure> {
        let not_yet = |context: &str, error: &dyn std::fmt::Display| {
            ProbeFailure::NotYet(format!("{context}: {error}"))
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            .map_err(|e| not_yet("connecting", &e))?;
        tcp.set_read_timeout(Some(Duration::from_secs(1)))
            .and_then(|()| tcp.set_write_timeout(Some(Duration::from_secs(1))))
            .map_err(|e| not_yet("setting timeouts", &e))?;
        let name = ServerName::try_from(PROBE_SERVER_NAME)
            .map_err(|e| not_yet("the probe's server name", &e))?;
        let connection = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| not_yet("starting TLS", &e))?;
        let mut stream = StreamOwned::new(connection, tcp);
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .map_err(|e| ProbeFailure::from_io("TLS handshake or request", &e))?;
        let mut raw = Vec::new();
        match stream.read_to_end(&mut raw) {
            // A peer that closes without close_notify still sent a whole response.
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
            Err(e) => return Err(ProbeFailure::from_io("reading the response", &e)),
        }
        let response = String::from_utf8_lossy(&raw);
        let Some((head, body)) = response.split_once("\r\n\r\n") else {
            return Err(not_yet("incomplete response", &format!("{response:?}")));
        };
        if !head.starts_with("HTTP/1.1 200") {
            return Err(not_yet("answered", &format!("{:?}", head.lines().next())));
        }
        Ok(body.trim().to_owned())
    }
}
