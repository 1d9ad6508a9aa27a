//! What the nginx tests share: test certificates, TLS fake backends and a raw HTTPS client.

pub mod backend;
pub mod certs;
pub mod client;

use std::net::SocketAddr;
use std::path::PathBuf;

use cryptoserve_testkit::nginx::Nginx;

use backend::{Backend, Behaviour};
use certs::{Authority, Identity, DEV_CERT_NAMES};
use client::Client;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// One test's certificates: a CA, a dev-cert dir for nginx, the backends' server identity.
pub struct Pki {
    pub ca: Authority,
    /// `ca.crt`, `ca.key`, `server.crt`/`.key`, `client.crt`/`.key`.
    pub dir: tempfile::TempDir,
    /// What the well-behaved backends present (the dev-cert server certificate).
    server: Identity,
}

impl Pki {
    pub fn new() -> TestResult<Pki> {
        let ca = Authority::new("cryptoserve test CA")?;
        let dir = tempfile::tempdir()?;
        let server = ca.write_dev_cert_dir(dir.path(), &DEV_CERT_NAMES)?;
        Ok(Pki { ca, dir, server })
    }

    /// A backend with the dev-cert server certificate that requires nginx's client certificate.
    pub fn backend(&self, name: &'static str, behaviour: Behaviour) -> TestResult<Backend> {
        Backend::start(name, behaviour, &self.server, self.ca.roots()?)
    }

    /// A client that trusts this CA (TLS 1.2 and 1.3, no ALPN).
    pub fn client(&self) -> TestResult<Client> {
        Client::new(self.ca.roots()?, &[], &[])
    }

    pub fn start_nginx(&self, upstreams: Vec<SocketAddr>) -> TestResult<Nginx> {
        Ok(Nginx::start_on_free_port(
            upstreams,
            main_conf(),
            self.dir.path().to_path_buf(),
        )?)
    }
}

pub fn main_conf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../nginx.scale.conf")
}
