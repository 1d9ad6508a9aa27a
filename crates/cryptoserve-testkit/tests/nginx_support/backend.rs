//! Fake backends: TLS servers on loopback ports that, like a real backend with
//! `CRYPTOSERVE_TLS_CLIENT_CA`, refuse any client without a certificate from the test CA.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use super::certs::Identity;
use super::TestResult;

/// What a fake backend does with each request.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Answers 200 with its name, rate-limit headers and the request head it saw.
    Answer,
    /// Reads the whole request, then closes the connection without answering: a backend that
    /// died with the request in flight.
    DieMidRequest,
}

/// Counters a backend's threads update.
#[derive(Default)]
struct Counters {
    /// TCP connections accepted.
    connections: AtomicUsize,
    /// TLS handshakes completed (the client's certificate was accepted).
    handshakes: AtomicUsize,
    /// Requests read in full.
    requests: AtomicUsize,
}

/// A fake backend on a loopback port; stops when dropped.
pub struct Backend {
    pub name: &'static str,
    pub addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Backend {
    /// Serves with `identity`'s certificate and requires a client certificate from
    /// `client_roots`.
    pub fn start(
        name: &'static str,
        behaviour: Behaviour,
        identity: &Identity,
        client_roots: Arc<RootCertStore>,
    ) -> TestResult<Backend> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(client_roots, provider.clone()).build()?;
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_counters, thread_stop) = (counters.clone(), stop.clone());
        let accept_thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                thread_counters.connections.fetch_add(1, Ordering::SeqCst);
                let (counters, config) = (thread_counters.clone(), config.clone());
                std::thread::spawn(move || serve(stream, config, name, behaviour, &counters));
            }
        });
        Ok(Backend {
            name,
            addr,
            counters,
            stop,
            accept_thread: Some(accept_thread),
        })
    }

    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }

    pub fn handshakes(&self) -> usize {
        self.counters.handshakes.load(Ordering::SeqCst)
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

/// Completes the TLS handshake, then serves HTTP/1.1 requests on the (keep-alive) connection
/// until the peer closes it.
fn serve(
    mut tcp: TcpStream,
    config: Arc<ServerConfig>,
    name: &str,
    behaviour: Behaviour,
    counters: &Counters,
) {
    let Ok(mut connection) = ServerConnection::new(config) else {
        return;
    };
    while connection.is_handshaking() {
        if connection.complete_io(&mut tcp).is_err() {
            return;
        }
    }
    counters.handshakes.fetch_add(1, Ordering::SeqCst);
    let mut reader = BufReader::new(StreamOwned::new(connection, tcp));
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
        counters.requests.fetch_add(1, Ordering::SeqCst);
        match behaviour {
            // Dropping the stream closes the socket without a TLS close_notify, as a crash would.
            Behaviour::DieMidRequest => return,
            Behaviour::Answer => {
                let body = format!("{name}\n{head}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     X-RateLimit-Limit: 100\r\nX-RateLimit-Remaining: 99\r\n\
                     X-RateLimit-Reset: 60\r\nRetry-After: 7\r\n\r\n{body}",
                    body.len()
                );
                let stream = reader.get_mut();
                if stream.write_all(response.as_bytes()).is_err() || stream.flush().is_err() {
                    return;
                }
            }
        }
    }
}
