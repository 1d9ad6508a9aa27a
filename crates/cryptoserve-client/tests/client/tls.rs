//! TLS against the real server: the dev CA is trusted when named and nothing else is; unknown,
//! wrong-host and expired certificates are refused at once with a typed error; mutual TLS
//! needs a client certificate from the server's CA.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cryptoserve_client::api::CreateContext;
use cryptoserve_client::{Client, ClientBuilder, Error, TlsFailure};
use cryptoserve_testkit::cryptoserve::{CryptoServe, ServeOptions, ServeTls};
use time::OffsetDateTime;

async fn start_tls(mutual: bool) -> CryptoServe {
    tokio::task::spawn_blocking(move || CryptoServe::start_tls(mutual))
        .await
        .unwrap()
        .unwrap()
}

/// A server presenting `cert`/`key` (no client certificates asked for).
async fn start_with_certificate(cert: PathBuf, key: PathBuf) -> CryptoServe {
    let options = ServeOptions {
        tls: Some(ServeTls {
            cert,
            key,
            client_ca: None,
        }),
        env: Vec::new(),
    };
    tokio::task::spawn_blocking(move || CryptoServe::start_with(options))
        .await
        .unwrap()
        .unwrap()
}

/// `cryptoserve tls dev-cert --new-ca` into `dir`: a CA unrelated to any server's.
fn other_ca(dir: &Path) -> PathBuf {
    let binary = cryptoserve_testkit::cryptoserve::binary().unwrap();
    let output = std::process::Command::new(binary)
        .args(["tls", "dev-cert", "--new-ca", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    dir.to_path_buf()
}

/// A server certificate for `host` signed by the CA in `ca_dir`, valid between the two
/// instants; written into `out` as `<name>.crt` and `<name>.key`.
fn issue(
    ca_dir: &Path,
    out: &Path,
    name: &str,
    host: &str,
    valid: (OffsetDateTime, OffsetDateTime),
) -> (PathBuf, PathBuf) {
    let ca_pem = std::fs::read_to_string(ca_dir.join("ca.crt")).unwrap();
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca_dir.join("ca.key")).unwrap()).unwrap();
    let ca = rcgen::CertificateParams::from_ca_cert_pem(&ca_pem)
        .unwrap()
        .self_signed(&ca_key)
        .unwrap();
    let mut params = rcgen::CertificateParams::new(vec![host.to_owned()]).unwrap();
    params.not_before = valid.0;
    params.not_after = valid.1;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let (cert_path, key_path) = (
        out.join(format!("{name}.crt")),
        out.join(format!("{name}.key")),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

fn builder(server: &CryptoServe) -> ClientBuilder {
    Client::builder()
        .ignore_environment()
        .address(&server.address)
        .token(&server.admin_token)
}

fn trusting(server: &CryptoServe, ca_dir: &Path) -> Client {
    builder(server)
        .ca_cert_file(ca_dir.join("ca.crt"))
        .build()
        .unwrap()
}

/// Asserts `error` is a TLS failure of `kind` whose message says so.
fn assert_tls(error: &Error, kind: TlsFailure) {
    let Error::Tls { kind: actual, .. } = error else {
        panic!("not a TLS error: {error:?}");
    };
    assert_eq!(*actual, kind, "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("TLS handshake with https://"),
        "{message}"
    );
}

async fn round_trip(client: &Client, context: &str) {
    client
        .create_context(&CreateContext::new(context))
        .await
        .unwrap();
    let sealed = client.encrypt(context, b"over tls").await.unwrap();
    let opened = client.decrypt(context, &sealed.ciphertext).await.unwrap();
    assert_eq!(opened, b"over tls");
}

#[tokio::test]
async fn the_named_ca_is_trusted_and_no_other() {
    let server = start_tls(false).await;
    round_trip(&trusting(&server, &server.tls_dir()), "over-tls").await;

    // The built-in roots do not know the dev CA: refused at once, no retry loop.
    let started = Instant::now();
    let error = builder(&server).build().unwrap().live().await.unwrap_err();
    assert_tls(&error, TlsFailure::UnknownIssuer);
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Naming a CA replaces the built-in roots; another CA does not vouch for this server.
    let other = tempfile::tempdir().unwrap();
    let client = trusting(&server, &other_ca(other.path()));
    let error = client.encrypt("over-tls", b"x").await.unwrap_err();
    assert_tls(&error, TlsFailure::UnknownIssuer);

    // Readiness reports the refusal per address.
    let readiness = client.readiness().await;
    assert!(
        matches!(readiness[0].result, Err(Error::Tls { .. })),
        "{readiness:?}"
    );
}

#[tokio::test]
async fn wrong_host_and_expired_certificates_are_refused_and_the_next_address_is_tried() {
    let good = start_tls(false).await;
    let ca_dir = good.tls_dir();
    let certs = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let current = (
        now - time::Duration::hours(1),
        now + time::Duration::days(1),
    );
    let (cert, key) = issue(&ca_dir, certs.path(), "wrong", "wrong.example", current);
    let wrong_host = start_with_certificate(cert, key).await;
    let past = (
        now - time::Duration::days(10),
        now - time::Duration::days(1),
    );
    let (cert, key) = issue(&ca_dir, certs.path(), "expired", "localhost", past);
    let expired = start_with_certificate(cert, key).await;

    let error = trusting(&wrong_host, &ca_dir).live().await.unwrap_err();
    assert_tls(&error, TlsFailure::WrongHost);
    assert!(error.to_string().contains("wrong.example"), "{error}");
    let error = trusting(&expired, &ca_dir).live().await.unwrap_err();
    assert_tls(&error, TlsFailure::Expired);
    assert!(error.to_string().contains("expired"), "{error}");

    // The handshake failed before the request was read, so even an admin write moves on.
    let client = Client::builder()
        .ignore_environment()
        .addresses([&wrong_host.address, &expired.address, &good.address])
        .token(&good.admin_token)
        .ca_cert_file(ca_dir.join("ca.crt"))
        .build()
        .unwrap();
    round_trip(&client, "failover").await;
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_servers_ca() {
    let server = start_tls(true).await;
    let tls = server.tls_dir();

    let without = trusting(&server, &tls);
    let error = without.live().await.unwrap_err();
    assert_tls(&error, TlsFailure::ClientCertificateRequired);

    let with = builder(&server)
        .ca_cert_file(tls.join("ca.crt"))
        .client_cert_file(tls.join("client.crt"))
        .client_key_file(tls.join("client.key"))
        .build()
        .unwrap();
    round_trip(&with, "mutual").await;

    let other = tempfile::tempdir().unwrap();
    let other = other_ca(other.path());
    let foreign = builder(&server)
        .ca_cert_file(tls.join("ca.crt"))
        .client_cert_file(other.join("client.crt"))
        .client_key_file(other.join("client.key"))
        .build()
        .unwrap();
    let error = foreign.encrypt("mutual", b"x").await.unwrap_err();
    assert_tls(&error, TlsFailure::ClientCertificateRefused);
}
