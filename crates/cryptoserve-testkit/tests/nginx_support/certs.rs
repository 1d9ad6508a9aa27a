//! Test certificates made with rcgen, shaped like `cryptoserve tls dev-cert`'s: one CA, a server
//! certificate for `localhost`, `127.0.0.1` and `cryptoserve-backend` (serverAuth), a client
//! certificate with CN `cryptoserve-client` (clientAuth).

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;

use super::TestResult;

/// The names `cryptoserve tls dev-cert` puts in the server certificate.
pub const DEV_CERT_NAMES: [&str; 4] = ["localhost", "127.0.0.1", "::1", "cryptoserve-backend"];

/// A certificate and its key, as rustls wants them.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    fn of(cert: &Certificate, key: &KeyPair) -> Identity {
        Identity {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}

/// A CA that issues server and client certificates.
pub struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    pub fn new(name: &str) -> TestResult<Authority> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Authority { cert, key })
    }

    /// Trust anchors holding only this CA.
    pub fn roots(&self) -> TestResult<Arc<RootCertStore>> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.der().clone())?;
        Ok(Arc::new(roots))
    }

    fn issue(
        &self,
        names: &[&str],
        common_name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> TestResult<(Certificate, KeyPair)> {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok((cert, key))
    }

    /// A server certificate for `names`.
    pub fn server(&self, names: &[&str]) -> TestResult<Identity> {
        let (cert, key) = self.issue(
            names,
            "cryptoserve-backend",
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        Ok(Identity::of(&cert, &key))
    }

    /// Writes the six dev-cert files into `dir`, the server certificate valid for
    /// `server_names` ([`DEV_CERT_NAMES`] in a real one), and returns the server identity in
    /// them (the fake backends present it too, like the compose backends do).
    pub fn write_dev_cert_dir(&self, dir: &Path, server_names: &[&str]) -> TestResult<Identity> {
        let (server, server_key) = self.issue(
            server_names,
            "cryptoserve-backend",
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let (client, client_key) = self.issue(
            &[],
            "cryptoserve-client",
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        for (name, contents) in [
            ("ca.crt", self.cert.pem()),
            ("ca.key", self.key.serialize_pem()),
            ("server.crt", server.pem()),
            ("server.key", server_key.serialize_pem()),
            ("client.crt", client.pem()),
            ("client.key", client_key.serialize_pem()),
        ] {
            std::fs::write(dir.join(name), contents)?;
        }
        Ok(Identity::of(&server, &server_key))
    }
}
