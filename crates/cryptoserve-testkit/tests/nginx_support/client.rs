//! A raw HTTP/1.1 client, over TLS (trusting the test CA) or deliberately in the clear, so the
//! tests see nginx's answers byte for byte.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use cryptoserve_testkit::nginx::Nginx;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, StreamOwned};

use super::TestResult;

/// A parsed response from nginx.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The backend's name: the first line of its body.
    pub fn served_by(&self) -> &str {
        self.body.lines().next().unwrap_or_default()
    }
}

/// TLS settings for requests to nginx.
#[derive(Clone)]
pub struct Client {
    config: Arc<ClientConfig>,
}

/// What a TLS handshake with nginx agreed on.
#[derive(Debug)]
pub struct Handshake {
    pub version: Option<ProtocolVersion>,
    pub alpn: Option<Vec<u8>>,
}

impl Client {
    /// Trusts `roots`, offers `versions` (all safe defaults when empty) and ALPN `alpn`.
    pub fn new(
        roots: Arc<RootCertStore>,
        versions: &[&'static rustls::SupportedProtocolVersion],
        alpn: &[&[u8]],
    ) -> TestResult<Client> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider);
        let builder = if versions.is_empty() {
            builder.with_safe_default_protocol_versions()?
        } else {
            builder.with_protocol_versions(versions)?
        };
        let mut config = builder.with_root_certificates(roots).with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(Client {
            config: Arc::new(config),
        })
    }

    fn connect(&self, nginx: &Nginx) -> TestResult<StreamOwned<ClientConnection, TcpStream>> {
        let tcp = TcpStream::connect(("127.0.0.1", nginx.port()))?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        let connection =
            ClientConnection::new(self.config.clone(), ServerName::try_from("localhost")?)?;
        Ok(StreamOwned::new(connection, tcp))
    }

    /// Completes a handshake only (verifying nginx's certificate for `localhost`).
    pub fn handshake(&self, nginx: &Nginx) -> TestResult<Handshake> {
        let mut stream = self.connect(nginx)?;
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Handshake {
            version: stream.conn.protocol_version(),
            alpn: stream.conn.alpn_protocol().map(<[u8]>::to_vec),
        })
    }

    /// One request over TLS on a fresh connection (`Connection: close`).
    pub fn request(
        &self,
        nginx: &Nginx,
        method: &str,
        path: &str,
        extra_headers: &str,
    ) -> TestResult<Response> {
        exchange(self.connect(nginx)?, method, path, extra_headers)
    }
}

/// The same request in plain HTTP, to nginx's TLS port.
pub fn plain_request(nginx: &Nginx, method: &str, path: &str) -> TestResult<Response> {
    let stream = TcpStream::connect(("127.0.0.1", nginx.port()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    exchange(stream, method, path, "")
}

fn exchange(
    mut stream: impl Read + Write,
    method: &str,
    path: &str,
    extra_headers: &str,
) -> TestResult<Response> {
    let body = r#"{"context":"test","plaintext":"aGVsbG8="}"#;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra_headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        // nginx may close without a TLS close_notify after a complete response.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.into()),
    }
    let raw = String::from_utf8(raw)?;
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
