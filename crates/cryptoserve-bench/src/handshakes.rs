//! New connections without TLS session resumption: the `tls` setup's `handshake_*` scenarios.
//!
//! wrk can open a new connection per request (`Connection: close`), but it keeps one OpenSSL
//! object per connection slot and `SSL_clear` keeps its session, so from the second request
//! on every slot *resumes* its TLS session (checked against a Python server that counts
//! resumptions: 3 234 of 3 236 wrk handshakes were resumed). A client without a session
//! cache (a CLI run, a script calling curl, a fresh process) pays a full handshake per
//! connection instead, and that is what this driver measures: reqwest over rustls with
//! resumption off, no idle connection kept, `Connection: close` sent; `connections` tasks on
//! `threads` runtime threads (wrk's `-c` and `-t`), each sending its next request as soon as
//! the last one was answered. The plain-HTTP counterpart runs through the same code, so the
//! two differ by TLS alone. The driver runs in this process, on the same cores as the server,
//! as wrk does.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;

use crate::error::{io_err, BenchError, Result};
use crate::wrk::{self, Errors, Latency, WrkResult};

/// Per-request timeout, as wrk's `--timeout`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One run of new connections.
#[derive(Debug, Clone)]
pub struct ConnectRun<'a> {
    /// Full URL, `http://127.0.0.1:<port>/path` or `https://…`.
    pub url: String,
    /// The CA that signed the server's certificate (HTTPS only); it is verified, as a real
    /// client would.
    pub ca_cert: Option<&'a Path>,
    /// Runtime threads (wrk's `-t`).
    pub threads: u32,
    /// Concurrent connections (wrk's `-c`).
    pub connections: u32,
    /// How long to keep connecting.
    pub duration: Duration,
}

/// What one connection task saw.
#[derive(Debug, Default)]
struct Tally {
    /// Latency of every answered request, µs (connect + handshake + request + response).
    latencies_us: Vec<u64>,
    /// Answers with status ≥ 400.
    status: u64,
    /// Requests that failed without an answer.
    socket: u64,
    /// Requests not answered within [`REQUEST_TIMEOUT`].
    timeout: u64,
}

/// Runs `spec` and reports it in wrk's terms: answered requests, latency, errors.
pub fn run(spec: &ConnectRun<'_>) -> Result<WrkResult> {
    if !wrk::is_loopback(&spec.url) {
        return Err(BenchError::Wrk(format!(
            "refusing to load {}: the benchmark only targets loopback",
            spec.url
        )));
    }
    let client = client(spec.ca_cert)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(spec.threads.max(1) as usize)
        .enable_all()
        .build()
        .map_err(io_err("starting the handshake driver's runtime"))?;
    let started = Instant::now();
    let deadline = started + spec.duration;
    let tally = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..spec.connections.max(1) {
            let client = client.clone();
            let url = spec.url.clone();
            tasks.spawn(keep_connecting(client, url, deadline));
        }
        let mut all = Tally::default();
        while let Some(joined) = tasks.join_next().await {
            if let Ok(mut one) = joined {
                all.latencies_us.append(&mut one.latencies_us);
                all.status += one.status;
                all.socket += one.socket;
                all.timeout += one.timeout;
            }
        }
        all
    });
    Ok(summarise(tally, started.elapsed()))
}

/// An HTTP/1.1 client that trusts `ca_cert` only and never resumes a TLS session.
fn client(ca_cert: Option<&Path>) -> Result<reqwest::Client> {
    let invalid = |what: &str, error: &dyn std::fmt::Display| BenchError::Http {
        what: format!("the handshake driver's {what}"),
        detail: error.to_string(),
    };
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca_cert {
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| invalid("CA file", &e))? {
            let cert = cert.map_err(|e| invalid("CA file", &e))?;
            roots.add(cert).map_err(|e| invalid("CA file", &e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("TLS settings", &e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // No session cache: every connection is a full handshake (certificate, signature,
    // key exchange), never a resumption.
    tls.resumption = rustls::client::Resumption::disabled();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .pool_max_idle_per_host(0)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| invalid("client", &e))
}

/// One connection slot: request after request, each on a new connection, until `deadline`.
async fn keep_connecting(client: reqwest::Client, url: String, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let sent = Instant::now();
        let answer = client
            .get(&url)
            .header(reqwest::header::CONNECTION, "close")
            .send()
            .await;
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await;
                tally
                    .latencies_us
                    .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                if status >= 400 || body.is_err() {
                    tally.status += 1;
                }
            }
            Err(error) if error.is_timeout() => tally.timeout += 1,
            Err(_) => tally.socket += 1,
        }
    }
    tally
}

/// wrk's figures from the tallies of every slot.
fn summarise(mut tally: Tally, elapsed: Duration) -> WrkResult {
    tally.latencies_us.sort_unstable();
    let sorted = &tally.latencies_us;
    let ms = |us: u64| us as f64 / 1000.0;
    let percentile = |p: f64| {
        let rank = ((sorted.len() as f64) * p / 100.0).ceil() as usize;
        sorted
            .get(rank.saturating_sub(1).min(sorted.len().saturating_sub(1)))
            .map_or(0.0, |&us| ms(us))
    };
    let requests = sorted.len() as u64;
    let duration_secs = elapsed.as_secs_f64();
    let mean = if sorted.is_empty() {
        0.0
    } else {
        ms(sorted.iter().sum::<u64>()) / sorted.len() as f64
    };
    WrkResult {
        requests,
        duration_secs,
        requests_per_sec: if duration_secs > 0.0 {
            requests as f64 / duration_secs
        } else {
            0.0
        },
        latency: Latency {
            p50_ms: percentile(50.0),
            p95_ms: percentile(95.0),
            p99_ms: percentile(99.0),
            max_ms: sorted.last().map_or(0.0, |&us| ms(us)),
            mean_ms: mean,
        },
        errors: Errors {
            status: tally.status,
            socket: tally.socket,
            timeout: tally.timeout,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_wrk_style_percentiles() {
        let tally = Tally {
            latencies_us: (1..=100).rev().map(|ms| ms * 1000).collect(),
            status: 1,
            socket: 2,
            timeout: 3,
        };
        let result = summarise(tally, Duration::from_secs(2));
        assert_eq!(result.requests, 100);
        assert!((result.requests_per_sec - 50.0).abs() < 1e-9);
        assert!((result.latency.p50_ms - 50.0).abs() < 1e-9);
        assert!((result.latency.p99_ms - 99.0).abs() < 1e-9);
        assert!((result.latency.max_ms - 100.0).abs() < 1e-9);
        assert!((result.latency.mean_ms - 50.5).abs() < 1e-9);
        assert_eq!(result.errors.total(), 6);
        let empty = summarise(Tally::default(), Duration::from_secs(1));
        assert_eq!(empty.requests, 0);
        assert_eq!(empty.latency.p99_ms, 0.0);
    }

    #[test]
    fn only_loopback_is_loaded() {
        let spec = ConnectRun {
            url: "https://example.com/health/live".to_owned(),
            ca_cert: None,
            threads: 1,
            connections: 1,
            duration: Duration::from_millis(1),
        };
        assert!(run(&spec).is_err());
    }
}
