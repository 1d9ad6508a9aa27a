//! The repository's `nginx.scale.conf`, run by `cryptoserve_testkit::nginx::Nginx` over tiny
//! loopback backends, TLS on both sides: clients reach nginx over TLS (plain HTTP gets a JSON
//! 400), nginx reaches the backends over mutual TLS and refuses one whose certificate is not
//! from the CA. Also load spreading, header passthrough, the retry policy (crypto routes are
//! re-sent to another backend, admin routes never) and upstream reloads.

mod nginx_support;

use std::net::{SocketAddr, TcpListener};

use cryptoserve_testkit::net::free_port;
use cryptoserve_testkit::nginx::{Nginx, NginxConfig};
use rustls::ProtocolVersion;

use nginx_support::backend::{Backend, Behaviour};
use nginx_support::certs::Authority;
use nginx_support::client::{plain_request, Client};
use nginx_support::{main_conf, Pki, TestResult};

#[test]
fn spreads_requests_over_every_backend_and_passes_headers_both_ways() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let (alpha, beta) = (
        pki.backend("alpha", Behaviour::Answer)?,
        pki.backend("beta", Behaviour::Answer)?,
    );
    let nginx = pki.start_nginx(vec![alpha.addr, beta.addr])?;

    let mut seen = Vec::new();
    for _ in 0..10 {
        let response = client.request(
            &nginx,
            "GET",
            "/api/openapi.json",
            "X-Request-ID: trace-123\r\n",
        )?;
        assert_eq!(response.status, 200, "{response:?}");
        seen.push(response.served_by().to_owned());

        // What the backend saw: HTTP/1.1 keep-alive with the forwarding headers.
        let seen_head = response.body.to_ascii_lowercase();
        assert!(
            seen_head.contains("get /api/openapi.json http/1.1"),
            "{seen_head}"
        );
        assert!(seen_head.contains("x-request-id: trace-123"), "{seen_head}");
        assert!(seen_head.contains("x-real-ip: 127.0.0.1"), "{seen_head}");
        assert!(
            seen_head.contains("x-forwarded-for: 127.0.0.1"),
            "{seen_head}"
        );
        assert!(
            seen_head.contains("x-forwarded-proto: https"),
            "{seen_head}"
        );
        assert!(!seen_head.contains("connection: close"), "{seen_head}");

        // What the client sees: the backend's rate-limit headers, untouched.
        assert_eq!(response.header("X-RateLimit-Limit"), Some("100"));
        assert_eq!(response.header("X-RateLimit-Remaining"), Some("99"));
        assert_eq!(response.header("Retry-After"), Some("7"));
    }
    for backend in [&alpha, &beta] {
        assert!(seen.iter().any(|name| name == backend.name), "{seen:?}");
        // nginx got in with its client certificate, which the backend requires.
        assert!(backend.handshakes() > 0, "{}", backend.name);
    }
    // Upstream keep-alive survives TLS: ten requests did not need ten connections.
    let connections = alpha.connections() + beta.connections();
    assert!(connections < 10, "{connections} upstream connections");

    let log = std::fs::read_to_string(nginx.access_log_path())?;
    assert!(
        log.contains(&format!("\"upstream_addr\":\"{}\"", alpha.addr)),
        "{log}"
    );
    assert!(
        log.contains(&format!("\"upstream_addr\":\"{}\"", beta.addr)),
        "{log}"
    );
    assert!(log.contains("\"request_id\":\"trace-123\""), "{log}");
    Ok(())
}

#[test]
fn crypto_post_is_retried_on_another_backend_when_one_dies_mid_request() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let dying = pki.backend("dying", Behaviour::DieMidRequest)?;
    let healthy = pki.backend("healthy", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![dying.addr, healthy.addr])?;

    // Which backend least_conn picks first is nginx's business: go on until the dying one got
    // a request, and check that every answer, that one included, came from the healthy one.
    for _ in 0..10 {
        let response = client.request(&nginx, "POST", "/api/v1/crypto/encrypt", "")?;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.served_by(), "healthy");
        if dying.requests() > 0 {
            return Ok(());
        }
    }
    Err("the dying backend never received a request".into())
}

#[test]
fn admin_post_is_never_retried_once_a_backend_received_it() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let dying = pki.backend("dying", Behaviour::DieMidRequest)?;
    let healthy = pki.backend("healthy", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![dying.addr, healthy.addr])?;

    for _ in 0..10 {
        let healthy_before = healthy.requests();
        let response =
            client.request(&nginx, "POST", "/api/admin/x", "X-Request-ID: admin-1\r\n")?;
        if dying.requests() == 0 {
            assert_eq!(response.status, 200, "{response:?}");
            continue;
        }
        assert_eq!(response.status, 502, "{response:?}");
        assert_eq!(
            healthy.requests(),
            healthy_before,
            "the admin request was re-sent"
        );
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        assert_eq!(response.header("X-Request-ID"), Some("admin-1"));
        assert_eq!(
            response.body,
            r#"{"error":{"code":"upstream_unavailable","message":"no CryptoServe instance could answer the request","request_id":"admin-1"}}"#
        );
        return Ok(());
    }
    Err("the dying backend never received a request".into())
}

#[test]
fn transit_crypto_is_retried_on_another_backend() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let dying = pki.backend("dying", Behaviour::DieMidRequest)?;
    let healthy = pki.backend("healthy", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![dying.addr, healthy.addr])?;

    for _ in 0..10 {
        let response = client.request(&nginx, "POST", "/v1/transit/encrypt/orders", "")?;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.served_by(), "healthy");
        if dying.requests() > 0 {
            return Ok(());
        }
    }
    Err("the dying backend never received an encrypt".into())
}

#[test]
fn transit_key_management_is_never_retried_and_fails_in_vault_shape() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    // Backends of its own: nginx skips a backend that just failed for a while.
    let dying = pki.backend("dying", Behaviour::DieMidRequest)?;
    let healthy = pki.backend("healthy", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![dying.addr, healthy.addr])?;

    for _ in 0..10 {
        let healthy_before = healthy.requests();
        let response = client.request(&nginx, "POST", "/v1/transit/keys/orders/rotate", "")?;
        if dying.requests() == 0 {
            assert_eq!(response.status, 200, "{response:?}");
            continue;
        }
        assert_eq!(response.status, 502, "{response:?}");
        assert_eq!(healthy.requests(), healthy_before, "a rotation was re-sent");
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        assert_eq!(
            response.body,
            r#"{"errors":["no CryptoServe instance could answer the request"]}"#
        );
        return Ok(());
    }
    Err("the dying backend never received a rotation".into())
}

#[test]
fn requests_that_never_reached_a_backend_move_on_even_for_admin() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let healthy = pki.backend("healthy", Behaviour::Answer)?;
    // A port nobody listens on: connections are refused, so nothing was sent.
    let refused = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let nginx = pki.start_nginx(vec![refused, healthy.addr])?;

    for _ in 0..4 {
        let response = client.request(&nginx, "POST", "/api/admin/x", "")?;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.served_by(), "healthy");
    }
    Ok(())
}

#[test]
fn set_upstreams_takes_effect_and_an_empty_pool_answers_json_502() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let (alpha, beta) = (
        pki.backend("alpha", Behaviour::Answer)?,
        pki.backend("beta", Behaviour::Answer)?,
    );
    let mut nginx = pki.start_nginx(vec![alpha.addr])?;
    for _ in 0..3 {
        assert_eq!(
            client
                .request(&nginx, "GET", "/health/ready", "")?
                .served_by(),
            "alpha"
        );
    }

    nginx.set_upstreams(vec![beta.addr])?;
    for _ in 0..3 {
        assert_eq!(
            client
                .request(&nginx, "GET", "/health/ready", "")?
                .served_by(),
            "beta"
        );
    }

    nginx.set_upstreams(Vec::new())?;
    let response = client.request(&nginx, "POST", "/api/v1/crypto/decrypt", "")?;
    assert_eq!(response.status, 502, "{response:?}");
    assert!(
        response.body.contains(r#""code":"upstream_unavailable""#),
        "{response:?}"
    );
    Ok(())
}

#[test]
fn nginx_answers_its_own_health_and_hides_metrics() -> TestResult {
    let pki = Pki::new()?;
    let client = pki.client()?;
    let nginx = pki.start_nginx(Vec::new())?;
    let health = client.request(&nginx, "GET", "/health/lb", "")?;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let metrics = client.request(&nginx, "GET", "/metrics", "X-Request-ID: bad\"id\r\n")?;
    assert_eq!(metrics.status, 404, "{metrics:?}");
    // A request id that would break the JSON is replaced, not echoed.
    assert!(!metrics.body.contains("bad\""), "{metrics:?}");
    assert_eq!(nginx.url(), format!("https://127.0.0.1:{}", nginx.port()));
    Ok(())
}

/// `Nginx::start_on_free_port` retries exactly when nginx reports "Address already in use";
/// this pins that nginx's failure on a taken port says so, and fails instead of hanging.
#[test]
fn a_taken_port_fails_the_start_with_address_already_in_use() -> TestResult {
    let pki = Pki::new()?;
    let taken = TcpListener::bind("127.0.0.1:0")?;
    let error = Nginx::start(NginxConfig {
        listen_port: taken.local_addr()?.port(),
        upstreams: Vec::new(),
        main_conf: main_conf(),
        tls_dir: pki.dir.path().to_path_buf(),
    })
    .err()
    .ok_or("nginx started on a port another socket listens on")?;
    assert!(
        error.to_string().contains("Address already in use"),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_client_that_trusts_the_ca_gets_through_over_tls_1_2_and_1_3() -> TestResult {
    let pki = Pki::new()?;
    let backend = pki.backend("alpha", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![backend.addr])?;

    let modern = Client::new(pki.ca.roots()?, &[], &[b"h2", b"http/1.1"])?.handshake(&nginx)?;
    assert_eq!(modern.version, Some(ProtocolVersion::TLSv1_3), "{modern:?}");
    assert_eq!(modern.alpn.as_deref(), Some(&b"h2"[..]), "{modern:?}");

    let tls12 = Client::new(pki.ca.roots()?, &[&rustls::version::TLS12], &[])?;
    assert_eq!(
        tls12.handshake(&nginx)?.version,
        Some(ProtocolVersion::TLSv1_2)
    );
    let response = tls12.request(&nginx, "POST", "/api/v1/crypto/encrypt", "")?;
    assert_eq!(
        (response.status, response.served_by()),
        (200, "alpha"),
        "{response:?}"
    );

    // nginx shows the certificate from tls/: a client trusting another CA refuses it.
    let stranger = Client::new(Authority::new("another CA")?.roots()?, &[], &[])?;
    let error = stranger
        .handshake(&nginx)
        .err()
        .ok_or("a client trusting another CA accepted nginx's certificate")?;
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    Ok(())
}

#[test]
fn plain_http_to_the_tls_port_gets_a_json_400_and_no_redirect() -> TestResult {
    let pki = Pki::new()?;
    let backend = pki.backend("alpha", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![backend.addr])?;

    let native = plain_request(&nginx, "POST", "/api/v1/crypto/encrypt")?;
    assert_eq!(native.status, 400, "{native:?}");
    assert_eq!(native.header("Location"), None, "{native:?}");
    assert_eq!(native.header("Content-Type"), Some("application/json"));
    let request_id = native.header("X-Request-ID").ok_or("no X-Request-ID")?;
    assert_eq!(
        native.body,
        format!(
            r#"{{"error":{{"code":"https_required","message":"this port speaks TLS only: use https://","request_id":"{request_id}"}}}}"#
        )
    );

    let vault = plain_request(&nginx, "POST", "/v1/transit/encrypt/orders")?;
    assert_eq!(vault.status, 400, "{vault:?}");
    assert_eq!(
        vault.body,
        r#"{"errors":["this port speaks TLS only: use https://"]}"#
    );
    assert_eq!(backend.requests(), 0, "a plain request reached the backend");
    Ok(())
}

#[test]
fn a_backend_with_a_certificate_from_another_ca_is_never_sent_a_request() -> TestResult {
    let pki = Pki::new()?;
    let impostor_ca = Authority::new("impostor CA")?;
    // Right name, wrong CA; it would accept nginx's client certificate.
    let impostor = Backend::start(
        "impostor",
        Behaviour::Answer,
        &impostor_ca.server(&["cryptoserve-backend"])?,
        pki.ca.roots()?,
    )?;
    let client = pki.client()?;

    let nginx = pki.start_nginx(vec![impostor.addr])?;
    let response = client.request(&nginx, "POST", "/api/admin/x", "X-Request-ID: tls-1\r\n")?;
    assert_eq!(response.status, 502, "{response:?}");
    assert_eq!(
        response.body,
        r#"{"error":{"code":"upstream_unavailable","message":"no CryptoServe instance could answer the request","request_id":"tls-1"}}"#
    );
    assert!(impostor.connections() > 0, "nginx never tried the impostor");
    // nginx checks the backend's certificate once the handshake is done and closes the
    // connection before sending anything.
    assert_eq!(impostor.requests(), 0, "the impostor got a request");
    let log = std::fs::read_to_string(nginx.error_log_path())?;
    assert!(
        log.contains("upstream SSL certificate verify error"),
        "{log}"
    );

    // A failed verification is a connection error: even an admin POST moves on to a real one.
    let healthy = pki.backend("healthy", Behaviour::Answer)?;
    let nginx = pki.start_nginx(vec![impostor.addr, healthy.addr])?;
    for _ in 0..4 {
        let response = client.request(&nginx, "POST", "/api/admin/x", "")?;
        assert_eq!(
            (response.status, response.served_by()),
            (200, "healthy"),
            "{response:?}"
        );
    }
    assert_eq!(impostor.requests(), 0);
    Ok(())
}

/// The readiness probe checks nginx's certificate like a client would: one that is not valid
/// for `localhost` fails the start at once, naming the problem, instead of timing out.
#[test]
fn a_server_certificate_not_valid_for_localhost_fails_the_start_at_once() -> TestResult {
    let ca = Authority::new("cryptoserve test CA")?;
    let dir = tempfile::tempdir()?;
    ca.write_dev_cert_dir(dir.path(), &["cryptoserve-backend"])?;
    let started = std::time::Instant::now();
    let error = Nginx::start_on_free_port(Vec::new(), main_conf(), dir.path().to_path_buf())
        .err()
        .ok_or("nginx started with a certificate not valid for localhost")?;
    assert!(
        error
            .to_string()
            .contains(r#"not valid for name "localhost""#),
        "{error}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    Ok(())
}
