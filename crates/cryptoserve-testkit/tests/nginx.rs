//! The repository's `nginx.scale.conf`, run by `cryptoserve_testkit::nginx::Nginx` over tiny
//! loopback backends: load spreading, header passthrough, the retry policy (crypto routes are
//! re-sent to another backend, admin routes never) and upstream reloads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cryptoserve_testkit::net::free_port;
use cryptoserve_testkit::nginx::{Nginx, NginxConfig};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What a fake backend does with each request.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Answers 200 with its name, rate-limit headers and the request head it saw.
    Answer,
    /// Reads the whole request, then closes the connection without answering: a backend that
    /// died with the request in flight.
    DieMidRequest,
}

/// A fake backend on a loopback port; stops when dropped.
struct Backend {
    name: &'static str,
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(name: &'static str, behaviour: Behaviour) -> std::io::Result<Backend> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_requests, thread_stop) = (requests.clone(), stop.clone());
        let accept_thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let requests = thread_requests.clone();
                std::thread::spawn(move || serve(stream, name, behaviour, &requests));
            }
        });
        Ok(Backend {
            name,
            addr,
            requests,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves HTTP/1.1 requests on one (keep-alive) connection until the peer closes it.
fn serve(stream: TcpStream, name: &str, behaviour: Behaviour, requests: &AtomicUsize) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut head = String::new();
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some((key, value)) = line.split_once(':') {
                if key.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
            let end_of_head = line == "\r\n";
            head.push_str(&line);
            if end_of_head {
                break;
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        match behaviour {
            Behaviour::DieMidRequest => return,
            Behaviour::Answer => {
                let body = format!("{name}\n{head}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 99\r\n\
                     X-RateLimit-Reset: 60\r\nRetry-After: 7\r\n\r\n{body}",
                    body.len()
                );
                if writer.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// A parsed response from nginx.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The backend's name: the first line of its body.
    fn served_by(&self) -> &str {
        self.body.lines().next().unwrap_or_default()
    }
}

/// One request on a fresh connection (`Connection: close`).
fn request(
    nginx: &Nginx,
    method: &str,
    path: &str,
    extra_headers: &str,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", nginx.port()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = r#"{"context":"test","plaintext":"aGVsbG8="}"#;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra_headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok(Response {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

fn main_conf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../nginx.scale.conf")
}

fn start_nginx(upstreams: Vec<SocketAddr>) -> Result<Nginx, Box<dyn std::error::Error>> {
    Ok(Nginx::start_on_free_port(upstreams, main_conf())?)
}

#[test]
fn spreads_requests_over_every_backend_and_passes_headers_both_ways() -> TestResult {
    let (alpha, beta) = (
        Backend::start("alpha", Behaviour::Answer)?,
        Backend::start("beta", Behaviour::Answer)?,
    );
    let nginx = start_nginx(vec![alpha.addr, beta.addr])?;

    let mut seen = Vec::new();
    for _ in 0..10 {
        let response = request(
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
        assert!(seen_head.contains("x-forwarded-proto: http"), "{seen_head}");
        assert!(!seen_head.contains("connection: close"), "{seen_head}");

        // What the client sees: the backend's rate-limit headers, untouched.
        assert_eq!(response.header("X-RateLimit-Limit"), Some("100"));
        assert_eq!(response.header("X-RateLimit-Remaining"), Some("99"));
        assert_eq!(response.header("Retry-After"), Some("7"));
    }
    for backend in [&alpha, &beta] {
        assert!(seen.iter().any(|name| name == backend.name), "{seen:?}");
    }

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
    let dying = Backend::start("dying", Behaviour::DieMidRequest)?;
    let healthy = Backend::start("healthy", Behaviour::Answer)?;
    let nginx = start_nginx(vec![dying.addr, healthy.addr])?;

    // Which backend least_conn picks first is nginx's business: go on until the dying one got
    // a request, and check that every answer, that one included, came from the healthy one.
    for _ in 0..10 {
        let response = request(&nginx, "POST", "/api/v1/crypto/encrypt", "")?;
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
    let dying = Backend::start("dying", Behaviour::DieMidRequest)?;
    let healthy = Backend::start("healthy", Behaviour::Answer)?;
    let nginx = start_nginx(vec![dying.addr, healthy.addr])?;

    for _ in 0..10 {
        let healthy_before = healthy.requests();
        let response = request(&nginx, "POST", "/api/admin/x", "X-Request-ID: admin-1\r\n")?;
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
    let dying = Backend::start("dying", Behaviour::DieMidRequest)?;
    let healthy = Backend::start("healthy", Behaviour::Answer)?;
    let nginx = start_nginx(vec![dying.addr, healthy.addr])?;

    for _ in 0..10 {
        let response = request(&nginx, "POST", "/v1/transit/encrypt/orders", "")?;
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
    // Backends of its own: nginx skips a backend that just failed for a while.
    let dying = Backend::start("dying", Behaviour::DieMidRequest)?;
    let healthy = Backend::start("healthy", Behaviour::Answer)?;
    let nginx = start_nginx(vec![dying.addr, healthy.addr])?;

    for _ in 0..10 {
        let healthy_before = healthy.requests();
        let response = request(&nginx, "POST", "/v1/transit/keys/orders/rotate", "")?;
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
    let healthy = Backend::start("healthy", Behaviour::Answer)?;
    // A port nobody listens on: connections are refused, so nothing was sent.
    let refused = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let nginx = start_nginx(vec![refused, healthy.addr])?;

    for _ in 0..4 {
        let response = request(&nginx, "POST", "/api/admin/x", "")?;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.served_by(), "healthy");
    }
    Ok(())
}

#[test]
fn set_upstreams_takes_effect_and_an_empty_pool_answers_json_502() -> TestResult {
    let (alpha, beta) = (
        Backend::start("alpha", Behaviour::Answer)?,
        Backend::start("beta", Behaviour::Answer)?,
    );
    let mut nginx = start_nginx(vec![alpha.addr])?;
    for _ in 0..3 {
        assert_eq!(
            request(&nginx, "GET", "/health/ready", "")?.served_by(),
            "alpha"
        );
    }

    nginx.set_upstreams(vec![beta.addr])?;
    for _ in 0..3 {
        assert_eq!(
            request(&nginx, "GET", "/health/ready", "")?.served_by(),
            "beta"
        );
    }

    nginx.set_upstreams(Vec::new())?;
    let response = request(&nginx, "POST", "/api/v1/crypto/decrypt", "")?;
    assert_eq!(response.status, 502, "{response:?}");
    assert!(
        response.body.contains(r#""code":"upstream_unavailable""#),
        "{response:?}"
    );
    Ok(())
}

#[test]
fn nginx_answers_its_own_health_and_hides_metrics() -> TestResult {
    let nginx = start_nginx(Vec::new())?;
    let health = request(&nginx, "GET", "/health/lb", "")?;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let metrics = request(&nginx, "GET", "/metrics", "X-Request-ID: bad\"id\r\n")?;
    assert_eq!(metrics.status, 404, "{metrics:?}");
    // A request id that would break the JSON is replaced, not echoed.
    assert!(!metrics.body.contains("bad\""), "{metrics:?}");
    assert!(nginx.url().ends_with(&nginx.port().to_string()));
    Ok(())
}

/// `Nginx::start_on_free_port` retries exactly when nginx reports "Address already in use";
/// this pins that nginx's failure on a taken port says so, and fails instead of hanging.
#[test]
fn a_taken_port_fails_the_start_with_address_already_in_use() -> TestResult {
    let taken = TcpListener::bind("127.0.0.1:0")?;
    let error = Nginx::start(NginxConfig {
        listen_port: taken.local_addr()?.port(),
        upstreams: Vec::new(),
        main_conf: main_conf(),
    })
    .err()
    .ok_or("nginx started on a port another socket listens on")?;
    assert!(
        error.to_string().contains("Address already in use"),
        "{error}"
    );
    Ok(())
}
