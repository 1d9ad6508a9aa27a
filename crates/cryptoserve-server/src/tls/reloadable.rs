//! The two pieces of the rustls configuration that can change while the server runs: the
//! served certificate ([`ReloadableCert`]) and the client-certificate verifier
//! ([`ReloadableVerifier`]). The `ServerConfig` holds them once; a reload swaps what they point
//! to, so new handshakes use the new material while established connections keep theirs.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The served certificate chain and key; one lock-free load per handshake.
#[derive(Debug)]
pub struct ReloadableCert(ArcSwap<CertifiedKey>);

impl ReloadableCert {
    /// Starts with `key`.
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        Self(ArcSwap::new(key))
    }

    /// Serves `key` to every handshake from now on.
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        self.0.store(key);
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// `ArcSwap` needs a sized value: the trait object lives behind this.
#[derive(Debug)]
struct Slot(Arc<dyn ClientCertVerifier>);

/// The client-certificate verifier, rebuilt from the CA bundle on reload.
///
/// It sends no CA names in the CertificateRequest (`root_hint_subjects` is empty, which TLS
/// allows): the hint list would have to outlive a reload. Clients then offer the certificate
/// they are configured with, which is what nginx, curl and our clients do anyway.
#[derive(Debug)]
pub struct ReloadableVerifier(ArcSwap<Slot>);

impl ReloadableVerifier {
    /// Starts with `verifier`.
    pub fn new(verifier: Arc<dyn ClientCertVerifier>) -> Self {
        Self(ArcSwap::from_pointee(Slot(verifier)))
    }

    /// Verifies every handshake from now on with `verifier`.
    pub fn replace(&self, verifier: Arc<dyn ClientCertVerifier>) {
        self.0.store(Arc::new(Slot(verifier)));
    }

    fn current(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::clone(&self.0.load().0)
    }
}

impl ClientCertVerifier for ReloadableVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current().supported_verify_schemes()
    }
}
