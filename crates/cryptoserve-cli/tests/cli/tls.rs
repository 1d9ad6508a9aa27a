//! `cs` over TLS against the real server with certificates from `cryptoserve tls dev-cert`:
//! `--cacert` (or `CRYPTOSERVE_CACERT`) makes it work; without it, or without a client
//! certificate when the server requires one, the command exits 6 with one line naming the
//! certificate problem; an unusable TLS file is a configuration error (2) naming the file.

use std::path::Path;

use cryptoserve_testkit::cryptoserve::CryptoServe;

use crate::support::Cs;

/// `cs ARGS` against `server` with its admin token.
fn cs(server: &CryptoServe, args: &[&str]) -> Cs {
    let mut cs = Cs::new(args);
    cs.command
        .env("CRYPTOSERVE_ADDR", &server.address)
        .env("CRYPTOSERVE_TOKEN", &server.admin_token);
    cs
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn cacert_makes_tls_work_and_without_it_the_certificate_is_refused() {
    let server = CryptoServe::start_tls(false).unwrap();
    let ca = server.tls_dir().join("ca.crt");
    let ca = text(&ca);

    cs(&server, &["--cacert", ca, "context", "create", "payments"])
        .run()
        .ok();
    let sealed = cs(
        &server,
        &["encrypt", "--context", "payments", "--cacert", ca],
    )
    .stdin(b"card 4111")
    .run()
    .ok()
    .text();
    let mut decrypt = cs(&server, &["decrypt", "--context", "payments"]).stdin(sealed.as_bytes());
    decrypt.command.env("CRYPTOSERVE_CACERT", ca);
    assert_eq!(decrypt.run().ok().stdout, b"card 4111");

    // No CA named: the built-in roots do not know the dev CA.
    let run = cs(&server, &["encrypt", "--context", "payments"])
        .stdin(b"x")
        .run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: TLS handshake with https://localhost:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(run.stderr.contains("--cacert"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);

    // A CA file that holds no certificate: a configuration error naming it, key unquoted.
    let key = server.tls_dir().join("ca.key");
    let run = cs(&server, &["context", "list", "--cacert", text(&key)]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("ca.key"), "{}", run.stderr);
    assert!(!run.stderr.contains("PRIVATE KEY"), "{}", run.stderr);
}

#[test]
fn mutual_tls_needs_client_cert_and_key() {
    let server = CryptoServe::start_tls(true).unwrap();
    let tls = server.tls_dir();
    let (ca, cert, key) = (
        tls.join("ca.crt"),
        tls.join("client.crt"),
        tls.join("client.key"),
    );

    let run = cs(&server, &["--cacert", text(&ca), "context", "list"]).run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("client certificate"), "{}", run.stderr);
    assert!(run.stderr.contains("--client-cert"), "{}", run.stderr);

    cs(
        &server,
        &["--cacert", text(&ca), "context", "create", "mutual"],
    )
    .args(["--client-cert", text(&cert), "--client-key", text(&key)])
    .run()
    .ok();
    let mut from_env = cs(&server, &["encrypt", "-c", "mutual"]).stdin(b"x");
    from_env
        .command
        .env("CRYPTOSERVE_CACERT", &ca)
        .env("CRYPTOSERVE_CLIENT_CERT", &cert)
        .env("CRYPTOSERVE_CLIENT_KEY", &key);
    from_env.run().ok();

    // A certificate without its key is a configuration error.
    let run = cs(&server, &["--cacert", text(&ca), "context", "list"])
        .args(["--client-cert", text(&cert)])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("client.crt"), "{}", run.stderr);
}
