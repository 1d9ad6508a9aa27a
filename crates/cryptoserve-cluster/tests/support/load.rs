//! A steady, bounded stream of encrypt → decrypt round trips through nginx over TLS, from a
//! few concurrent clients, each pausing between round trips so the total stays at a few
//! hundred requests per second. Every request is counted; a failure is anything but a 200 with the
//! expected body (including a decrypt that returns other bytes than were encrypted).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// How to drive the load.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// nginx's `https://` URL.
    pub url: String,
    /// The cluster's CA, the only one the load's client trusts.
    pub ca_cert: PathBuf,
    pub token: String,
    pub context: String,
    pub clients: usize,
    /// Pause after each round trip, per client.
    pub pause: Duration,
}

/// A running load; [`Load::stop`] ends it and returns the figures.
#[derive(Debug)]
pub struct Load {
    name: String,
    stop: Arc<AtomicBool>,
    started: Instant,
    clients: Vec<tokio::task::JoinHandle<ClientStats>>,
}

/// What one drill's load saw.
#[derive(Debug, Default)]
pub struct Report {
    pub name: String,
    pub sent: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub p99: Duration,
    pub max: Duration,
    pub elapsed: Duration,
    /// Requests re-sent once after the client's keep-alive connection to nginx was closed
    /// under them (nginx reload); counted, never hidden. Crypto routes are safe to retry.
    pub retried: u64,
    /// The first few failures, for the assertion message.
    pub failures: Vec<String>,
    /// (plaintext, ciphertext) pairs produced through nginx, for the cross-instance drill.
    pub ciphertexts: Vec<(Vec<u8>, String)>,
}

impl Report {
    /// Asserts that no request failed and that more than `min_sent` were sent (fewer would
    /// prove nothing about the fault the load ran through).
    pub fn assert_no_failures(&self, min_sent: u64) {
        assert_eq!(self.failed, 0, "{self}");
        assert!(
            self.sent > min_sent,
            "too little load to mean anything: {self}"
        );
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = self.sent as f64 / self.elapsed.as_secs_f64().max(0.001);
        write!(
            f,
            "[{}] sent {} succeeded {} failed {} retried {} p99 {:.1} ms max {:.1} ms ({:.0} req/s over {:.1} s)",
            self.name,
            self.sent,
            self.succeeded,
            self.failed,
            self.retried,
            self.p99.as_secs_f64() * 1000.0,
            self.max.as_secs_f64() * 1000.0,
            rate,
            self.elapsed.as_secs_f64()
        )?;
        if !self.failures.is_empty() {
            write!(f, "; first failures: {:?}", self.failures)?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct ClientStats {
    latencies: Vec<Duration>,
    failed: u64,
    retried: u64,
    failures: Vec<String>,
    ciphertexts: Vec<(Vec<u8>, String)>,
}

/// Ciphertexts each client keeps for the cross-instance check.
const KEEP_PER_CLIENT: usize = 15;
/// Failures each client describes in full.
const DESCRIBE_PER_CLIENT: usize = 3;

impl Load {
    /// Starts `config.clients` client tasks on `runtime`.
    pub fn start(runtime: &tokio::runtime::Runtime, name: &str, config: &LoadConfig) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(config.clients);
        let client = super::trusting_only(builder, &config.ca_cert)
            .build()
            .unwrap();
        let clients = (0..config.clients)
            .map(|id| {
                let stop = stop.clone();
                let client = client.clone();
                let config = config.clone();
                runtime.spawn(async move { run_client(id, client, config, stop).await })
            })
            .collect();
        Load {
            name: name.to_owned(),
            stop,
            started: Instant::now(),
            clients,
        }
    }

    /// Stops the clients (each finishes its current round trip) and adds up the figures.
    pub fn stop(self, runtime: &tokio::runtime::Runtime) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        let elapsed = self.started.elapsed();
        let mut latencies = Vec::new();
        let mut report = Report {
            name: self.name,
            elapsed,
            ..Report::default()
        };
        for handle in self.clients {
            let stats = runtime.block_on(handle).expect("load client task");
            report.failed += stats.failed;
            report.retried += stats.retried;
            report.failures.extend(stats.failures);
            report.ciphertexts.extend(stats.ciphertexts);
            latencies.extend(stats.latencies);
        }
        report.failures.truncate(8);
        report.succeeded = latencies.len() as u64 - report.failed.min(latencies.len() as u64);
        report.sent = latencies.len() as u64;
        latencies.sort();
        if let Some(last) = latencies.last() {
            report.max = *last;
            let rank = ((latencies.len() as f64) * 0.99).ceil() as usize;
            report.p99 = latencies[rank.saturating_sub(1).min(latencies.len() - 1)];
        }
        report
    }
}

async fn run_client(
    id: usize,
    client: reqwest::Client,
    config: LoadConfig,
    stop: Arc<AtomicBool>,
) -> ClientStats {
    let mut stats = ClientStats::default();
    let mut counter: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        counter += 1;
        let plaintext = format!("client {id} message {counter} {:?}", Instant::now()).into_bytes();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&plaintext);
        let body = json!({ "context": config.context, "plaintext": encoded });
        let encrypted = call(&client, &config, "encrypt", &body, &mut stats).await;
        let Some(ciphertext) = encrypted
            .as_ref()
            .and_then(|value| value["ciphertext"].as_str())
            .map(str::to_owned)
        else {
            if encrypted.is_some() {
                note_failure(&mut stats, "encrypt: 200 without a ciphertext".into());
            }
            tokio::time::sleep(config.pause).await;
            continue;
        };
        let body = json!({ "context": config.context, "ciphertext": ciphertext });
        if let Some(value) = call(&client, &config, "decrypt", &body, &mut stats).await {
            let roundtrip = value["plaintext"]
                .as_str()
                .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok());
            if roundtrip.as_deref() != Some(plaintext.as_slice()) {
                note_failure(&mut stats, format!("decrypt returned other bytes: {value}"));
            } else if stats.ciphertexts.len() < KEEP_PER_CLIENT {
                stats.ciphertexts.push((plaintext, ciphertext));
            }
        }
        tokio::time::sleep(config.pause).await;
    }
    stats
}

/// One POST; records its latency, and a failure unless it answered 200 with a JSON body.
async fn call(
    client: &reqwest::Client,
    config: &LoadConfig,
    operation: &str,
    body: &Value,
    stats: &mut ClientStats,
) -> Option<Value> {
    let started = Instant::now();
    let send = || {
        client
            .post(format!("{}/api/v1/crypto/{operation}", config.url))
            .bearer_auth(&config.token)
            .json(body)
            .send()
    };
    let mut result = send().await;
    // An idle keep-alive connection that nginx closes (e.g. old workers after a reload) while
    // the request is being written fails without any response. Like any HTTP client should for
    // a request that is safe to retry, re-send once on a fresh connection — and count it.
    if matches!(&result, Err(error) if error.is_request() && !error.is_timeout()) {
        stats.retried += 1;
        result = send().await;
    }
    let outcome = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            match (status, serde_json::from_str::<Value>(&text)) {
                (200, Ok(value)) => Ok(value),
                _ => Err(format!("{operation}: {status} {text}")),
            }
        }
        Err(error) => Err(format!("{operation}: transport error {error}")),
    };
    stats.latencies.push(started.elapsed());
    match outcome {
        Ok(value) => Some(value),
        Err(description) => {
            note_failure(stats, description);
            None
        }
    }
}

fn note_failure(stats: &mut ClientStats, description: String) {
    stats.failed += 1;
    if stats.failures.len() < DESCRIBE_PER_CLIENT {
        stats.failures.push(description);
    }
}
