//! `cryptoserve tls dev-cert`: a development CA and the certificates a local TLS deployment
//! needs, made with rcgen (ECDSA P-256).
//!
//! Files written into the output directory (keys mode 0600, each file replaced atomically):
//! - `ca.crt`, `ca.key`: the CA. Kept and reused by later runs, so clients that trust
//!   `ca.crt` keep trusting re-issued certificates (pass `--new-ca` for a fresh one).
//! - `server.crt`, `server.key`: serverAuth, SANs `localhost`, `127.0.0.1`, `::1`,
//!   `cryptoserve-backend` (the name nginx verifies backends by) and every `--host`.
//! - `client.crt`, `client.key`: clientAuth, CN `cryptoserve-client` (nginx → backends).
//!
//! Never for production: the CA key sits next to the certificates.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use ring::rand::{SecureRandom as _, SystemRandom};
use time::{Duration, OffsetDateTime};

/// Names every development server certificate carries.
pub const DEFAULT_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1", "cryptoserve-backend"];
/// Common name of the development client certificate.
pub const CLIENT_NAME: &str = "cryptoserve-client";

/// A PEM certificate and its PEM private key.
#[derive(Clone)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Start.
    pub not_before: OffsetDateTime,
    /// End.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// From an hour ago (clock skew) for `days` days.
    pub fn days(days: u32) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(i64::from(days)),
        }
    }
}

/// A certificate authority that can issue development certificates.
pub struct DevCa {
    cert: Certificate,
    key: KeyPair,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

impl DevCa {
    /// A new CA named `name`, valid for ten years.
    pub fn generate(name: &str) -> anyhow::Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let validity = Validity::days(3650);
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.serial_number = Some(random_serial()?);
        let cert = params.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    /// The CA from its PEM certificate and key (as written by [`write_dev_certs`]).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> anyhow::Result<Self> {
        let key = KeyPair::from_pem(key_pem).context("reading the CA key")?;
        let params = CertificateParams::from_ca_cert_pem(cert_pem).context("reading the CA")?;
        // Re-signing with the same key and subject gives a certificate that verifies exactly
        // like the one on disk; only the one on disk is ever distributed.
        let cert = params.self_signed(&key)?;
        Ok(Self { cert, key })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// The CA key, PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A serverAuth certificate for `hosts` (DNS names or IP addresses).
    pub fn issue_server(&self, hosts: &[String], validity: Validity) -> anyhow::Result<Issued> {
        let mut params = CertificateParams::new(hosts.to_vec())?;
        let name = hosts.first().map_or("cryptoserve", String::as_str);
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, validity)
    }

    /// A clientAuth certificate with common name `name`.
    pub fn issue_client(&self, name: &str, validity: Validity) -> anyhow::Result<Issued> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, validity)
    }

    fn issue(&self, mut params: CertificateParams, validity: Validity) -> anyhow::Result<Issued> {
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = validity.not_before;
        params.not_after = validity.not_after;
        params.serial_number = Some(random_serial()?);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("no OS randomness"))?;
    bytes[0] &= 0x7f; // positive
    Ok(SerialNumber::from_slice(&bytes))
}

/// What `cryptoserve tls dev-cert` was asked for.
#[derive(Debug, Clone)]
pub struct DevCertRequest {
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Extra server names beyond [`DEFAULT_HOSTS`].
    pub hosts: Vec<String>,
    /// Validity of the server and client certificates, in days.
    pub days: u32,
    /// Make a new CA even if one is in `out`.
    pub new_ca: bool,
}

/// Writes the CA (new or reused), the server and the client certificates; returns whether
/// the CA was reused.
pub fn write_dev_certs(request: &DevCertRequest) -> anyhow::Result<bool> {
    let out = &request.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (ca_cert, ca_key) = (out.join("ca.crt"), out.join("ca.key"));
    let existing = if request.new_ca {
        None
    } else {
        match (
            std::fs::read_to_string(&ca_cert),
            std::fs::read_to_string(&ca_key),
        ) {
            (Ok(cert), Ok(key)) => Some(DevCa::from_pem(&cert, &key)?),
            _ => None,
        }
    };
    let reused = existing.is_some();
    let ca = match existing {
        Some(ca) => ca,
        None => {
            // A distinct name per CA, so a certificate from another development CA is reported
            // as "unknown issuer", not as a bad signature from a CA of the same name.
            let mut tag = [0u8; 4];
            SystemRandom::new()
                .fill(&mut tag)
                .map_err(|_| anyhow::anyhow!("no OS randomness"))?;
            let ca = DevCa::generate(&format!("CryptoServe development CA {}", hex::encode(tag)))?;
            write_file(&ca_key, &ca.key_pem(), true)?;
            write_file(&ca_cert, &ca.cert_pem(), false)?;
            ca
        }
    };
    let mut hosts: Vec<String> = DEFAULT_HOSTS.iter().map(|h| (*h).to_owned()).collect();
    for host in &request.hosts {
        if !hosts.contains(host) {
            hosts.push(host.clone());
        }
    }
    let validity = Validity::days(request.days);
    let server = ca.issue_server(&hosts, validity)?;
    // Key first, then certificate: a server polling the files sees a mismatch for an instant
    // at most, which it reports and retries rather than serving.
    write_file(&out.join("server.key"), &server.key_pem, true)?;
    write_file(&out.join("server.crt"), &server.cert_pem, false)?;
    let client = ca.issue_client(CLIENT_NAME, validity)?;
    write_file(&out.join("client.key"), &client.key_pem, true)?;
    write_file(&out.join("client.crt"), &client.cert_pem, false)?;
    Ok(reused)
}

/// Writes via a temp file and rename; private files are created mode 0600.
fn write_file(path: &Path, contents: &str, private: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let staging = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    options.mode(if private { 0o600 } else { 0o644 });
    let mut file = options
        .open(&staging)
        .with_context(|| format!("writing {}", staging.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", staging.display()))?;
    drop(file);
    std::fs::rename(&staging, path).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_load_as_a_matching_pair_and_reuse_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let request = DevCertRequest {
            out: dir.path().to_path_buf(),
            hosts: vec!["nginx".into()],
            days: 30,
            new_ca: false,
        };
        assert!(!write_dev_certs(&request).unwrap());
        let first_ca = std::fs::read_to_string(dir.path().join("ca.crt")).unwrap();
        let pair = crate::tls::material::load_pair(
            &dir.path().join("server.crt"),
            &dir.path().join("server.key"),
        )
        .unwrap();
        let days_left = (pair.not_after - OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
        assert!((29..=30).contains(&days_left), "{days_left}");
        crate::tls::material::load_client_verifier(&dir.path().join("ca.crt")).unwrap();
        // A second run keeps the CA and issues a new server certificate.
        let old_server = std::fs::read_to_string(dir.path().join("server.crt")).unwrap();
        assert!(write_dev_certs(&request).unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ca.crt")).unwrap(),
            first_ca
        );
        assert_ne!(
            std::fs::read_to_string(dir.path().join("server.crt")).unwrap(),
            old_server
        );
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_from_another_pair_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::generate("test").unwrap();
        let a = ca.issue_server(&["a".into()], Validity::days(1)).unwrap();
        let b = ca.issue_server(&["b".into()], Validity::days(1)).unwrap();
        std::fs::write(dir.path().join("a.crt"), &a.cert_pem).unwrap();
        std::fs::write(dir.path().join("b.key"), &b.key_pem).unwrap();
        let error =
            crate::tls::material::load_pair(&dir.path().join("a.crt"), &dir.path().join("b.key"))
                .unwrap_err()
                .to_string();
        assert!(error.contains("do not belong together"), "{error}");
        assert!(!error.contains("PRIVATE KEY"), "{error}");
    }
}
