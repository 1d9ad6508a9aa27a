//! The cluster's certificates: one directory in the `cryptoserve tls dev-cert --out` layout,
//! used by every hop. nginx shows `server.crt` to clients and `client.crt` to the backends;
//! each backend serves `server.crt` (valid for `cryptoserve-backend`, the name nginx checks)
//! and requires a client certificate from `ca.crt` (mutual TLS). Clients trust `ca.crt`.
//!
//! By default the cluster writes the directory itself, into `<state dir>/tls`. `dev-cert`
//! keeps an existing CA, so a cluster restarted on the same state dir keeps the CA that
//! clients already trust and gets fresh server and client certificates.

use std::path::{Path, PathBuf};

use crate::error::{io_err, ClusterError, Result};

/// The CA certificate clients trust (and the CA nginx and the backends verify each other by).
pub const CA_CERT: &str = "ca.crt";
/// The certificate nginx and the backends serve.
pub const SERVER_CERT: &str = "server.crt";
/// Its key.
pub const SERVER_KEY: &str = "server.key";
/// The certificate nginx shows the backends; also what a client needs to reach a backend
/// directly.
pub const CLIENT_CERT: &str = "client.crt";
/// Its key.
pub const CLIENT_KEY: &str = "client.key";

/// The files a TLS dir must hold (`ca.key` is optional: only `dev-cert` reads it).
const REQUIRED: [&str; 5] = [CA_CERT, SERVER_CERT, SERVER_KEY, CLIENT_CERT, CLIENT_KEY];

/// Where the cluster's certificates live.
#[derive(Debug, Clone)]
pub struct ClusterTls {
    /// Absolute path of the dev-cert layout dir.
    dir: PathBuf,
}

impl ClusterTls {
    /// Uses `given` when the caller brought certificates, else runs `dev-cert` into
    /// `<state_dir>/tls`. Either way every file the cluster needs must be there.
    pub(crate) fn prepare(
        server_binary: &Path,
        given: Option<&Path>,
        state_dir: &Path,
    ) -> Result<ClusterTls> {
        let dir = match given {
            Some(dir) => dir.to_path_buf(),
            None => {
                let dir = state_dir.join("tls");
                cryptoserve_testkit::cryptoserve::write_dev_certs(server_binary, &dir)?;
                dir
            }
        };
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|name| !dir.join(name).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(ClusterError::Invalid(format!(
                "TLS dir {} lacks {} (expected the `cryptoserve tls dev-cert --out` layout)",
                dir.display(),
                missing.join(", ")
            )));
        }
        // Absolute, because server processes may run with their own working directories.
        let dir = std::fs::canonicalize(&dir).map_err(io_err("resolving the TLS dir"))?;
        Ok(ClusterTls { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `ca.crt`: what clients of the cluster trust (`curl --cacert`, `CRYPTOSERVE_CACERT`).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    /// `client.crt`: a certificate the backends accept (they require one).
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join(CLIENT_CERT)
    }

    /// `client.key`, the key of [`ClusterTls::client_cert`].
    pub fn client_key(&self) -> PathBuf {
        self.dir.join(CLIENT_KEY)
    }

    /// The variables that make `serve` TLS-only with client certificates required. The
    /// reload interval stays at the server's default, so a re-run of `dev-cert` into the dir
    /// reaches the backends without a restart.
    pub(crate) fn serve_env(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("CRYPTOSERVE_TLS_CERT", self.dir.join(SERVER_CERT)),
            ("CRYPTOSERVE_TLS_KEY", self.dir.join(SERVER_KEY)),
            ("CRYPTOSERVE_TLS_CLIENT_CA", self.ca_cert()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterTls;

    #[test]
    fn a_given_dir_without_the_files_is_refused_with_their_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), "x").unwrap();
        let error = ClusterTls::prepare("cryptoserve".as_ref(), Some(dir.path()), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("server.crt, server.key, client.crt, client.key"),
            "{error}"
        );
        assert!(!error.contains("ca.crt,"), "{error}");
    }
}
