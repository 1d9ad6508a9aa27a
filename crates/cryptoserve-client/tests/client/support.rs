//! A real `cryptoserve serve` on a free loopback port with a fresh data directory, an admin
//! token for it, and small fake servers for the failure cases a real one cannot produce on
//! demand.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use cryptoserve_client::api::{PolicyBody, RateLimitDimension};
use cryptoserve_client::{Client, ClientBuilder};
use cryptoserve_testkit::cryptoserve::CryptoServe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running server (the real binary, see `cryptoserve_testkit::cryptoserve`), killed when
/// dropped.
pub struct Server {
    _process: CryptoServe,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An admin token for it.
    pub admin_token: String,
}

impl Server {
    /// Starts a server, waits until it is ready, and raises the default rate limits so the
    /// tests' bursts are not refused (the tests that want 429 set their own).
    pub async fn start() -> Server {
        let process = tokio::task::spawn_blocking(CryptoServe::start)
            .await
            .unwrap()
            .unwrap();
        let server = Server {
            address: process.address.clone(),
            admin_token: process.admin_token.clone(),
            _process: process,
        };
        let admin = server.client();
        for dimension in RateLimitDimension::ALL {
            admin
                .set_rate_limit_default(*dimension, PolicyBody::new(600_000, 10_000))
                .await
                .unwrap();
        }
        server
    }

    /// A builder that knows only this server and the admin token (no environment, no files).
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .ignore_environment()
            .address(&self.address)
            .token(&self.admin_token)
    }

    /// An admin client.
    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }
}

/// A loopback port nothing listens on.
pub fn dead_address() -> String {
    let port = cryptoserve_testkit::net::free_port().unwrap();
    format!("http://127.0.0.1:{port}")
}

/// How a fake server treats each connection.
#[derive(Clone, Copy, Debug)]
pub enum Fake {
    /// Reads the request and answers 503 in CryptoServe's error shape.
    Unavailable,
    /// Reads the request and closes the connection without answering.
    HangUp,
}

/// A fake server on loopback; counts the requests it read.
pub struct FakeServer {
    pub address: String,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(behaviour: Fake) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    if read_request(&mut stream).await {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    if let Fake::Unavailable = behaviour {
                        let body = r#"{"error":{"code":"service_unavailable","message":"draining","request_id":"fake-1"}}"#;
                        let reply = format!(
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
                             X-Request-ID: fake-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(reply.as_bytes()).await;
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
        FakeServer {
            address,
            requests,
            task,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request's head and its `Content-Length` body; false if the peer went away.
async fn read_request(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(read) = stream.read(&mut chunk).await else {
            return false;
        };
        if read == 0 {
            return false;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            return true;
        }
    }
}
