//! A saturating load for counting what a rate limit admits: a few clients send encrypt
//! requests through nginx back to back, without pausing, and every answer is recorded with
//! when it was sent and received. 200 (admitted) and 429 (denied) are the expected answers;
//! anything else, including a transport error, is a failure.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cryptoserve_testkit::exactness::AdmissionBound;
use serde_json::json;

/// One answered (or failed) request.
#[derive(Debug, Clone)]
pub struct Sample {
    pub sent: Instant,
    pub received: Instant,
    /// HTTP status; 0 for a transport error.
    pub status: u16,
    /// The body of anything but 200/429, for the assertion message.
    pub detail: Option<String>,
}

/// A running saturating load.
pub struct Saturate {
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// nginx's `https://` URL.
    pub url: String,
    /// The cluster's CA, the only one trusted.
    pub ca_cert: PathBuf,
    pub token: String,
    pub context: String,
}

impl Saturate {
    /// Starts `clients` tasks on `runtime`, each sending one request after the other.
    pub fn start(runtime: &tokio::runtime::Runtime, target: &Target, clients: usize) -> Saturate {
        let stop = Arc::new(AtomicBool::new(false));
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(clients);
        let client = super::trusting_only(builder, &target.ca_cert)
            .build()
            .unwrap();
        let clients = (0..clients)
            .map(|_| {
                let (stop, client, target) = (stop.clone(), client.clone(), target.clone());
                runtime.spawn(async move { run_client(client, target, stop).await })
            })
            .collect();
        Saturate { stop, clients }
    }

    /// Stops the clients (each finishes its request in flight) and returns every sample.
    pub fn stop(self, runtime: &tokio::runtime::Runtime) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        let mut samples = Vec::new();
        for handle in self.clients {
            samples.extend(runtime.block_on(handle).expect("saturating client task"));
        }
        samples.sort_by_key(|sample| sample.sent);
        samples
    }
}

async fn run_client(client: reqwest::Client, target: Target, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut samples = Vec::new();
    let body = json!({ "context": target.context, "plaintext": "c2F0dXJhdGU=" });
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let result = client
            .post(format!("{}/api/v1/crypto/encrypt", target.url))
            .bearer_auth(&target.token)
            .json(&body)
            .send()
            .await;
        let (status, detail) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                (status, (status != 200 && status != 429).then_some(text))
            }
            Err(error) => (0, Some(format!("transport error: {error}"))),
        };
        samples.push(Sample {
            sent,
            received: Instant::now(),
            status,
            detail,
        });
    }
    samples
}

/// What a window of saturating load admitted, against what one exact GCRA bucket admits.
#[derive(Debug, Clone)]
pub struct Exactness {
    pub admitted: usize,
    pub denied: usize,
    pub failed: usize,
    /// Expected admissions for the shortest and longest window the samples allow, ±2 %.
    pub low: f64,
    pub high: f64,
    /// Expected admissions for the nominal window (first send to last receive, midpoint).
    pub nominal: f64,
    pub shortest: Duration,
    pub longest: Duration,
    /// The longest stretch with no request in flight: past the bucket's burst / rate it lets
    /// a saturated bucket fill up and forgo capacity, so a low count then says the machine
    /// stalled, not that the limiter under-admitted.
    pub max_idle: Duration,
}

impl Exactness {
    /// Counts `samples` of a load started on a full bucket of `rate_per_minute` and `burst`,
    /// against the ±2 % bound of `cryptoserve_testkit::exactness`.
    pub fn of(samples: &[Sample], rate_per_minute: u32, burst: u32) -> Exactness {
        let count = |status: u16| samples.iter().filter(|s| s.status == status).count();
        let bound = AdmissionBound::of(
            samples.iter().map(|s| (s.sent, s.received)),
            rate_per_minute,
            burst,
        )
        .unwrap();
        let first_send = samples.iter().map(|s| s.sent).min().unwrap();
        let (admitted, denied) = (count(200), count(429));
        let mut max_idle = Duration::ZERO;
        let mut covered_until = first_send;
        for sample in samples {
            max_idle = max_idle.max(sample.sent.saturating_duration_since(covered_until));
            covered_until = covered_until.max(sample.received);
        }
        Exactness {
            admitted,
            denied,
            failed: samples.len() - admitted - denied,
            low: bound.low,
            high: bound.high,
            nominal: bound.nominal,
            shortest: bound.shortest,
            longest: bound.longest,
            max_idle,
        }
    }

    /// Fewer admitted than the lower bound allows.
    pub fn under(&self) -> bool {
        (self.admitted as f64) < self.low
    }

    /// Within ±2 % of the limit, and the bucket was saturated (more denied than admitted),
    /// without which the count says nothing.
    pub fn holds(&self) -> bool {
        (self.low..=self.high).contains(&(self.admitted as f64)) && self.denied > self.admitted
    }

    /// How far the count is from the nominal expectation, in percent.
    pub fn deviation_percent(&self) -> f64 {
        (self.admitted as f64 - self.nominal) / self.nominal * 100.0
    }
}

impl std::fmt::Display for Exactness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "admitted {} (expected {:.1}, {:+.2} %; ±2 % bounds {:.1}-{:.1} for a {:.3}-{:.3} s \
             window), denied {}, failed {}, longest idle {:.0} ms",
            self.admitted,
            self.nominal,
            self.deviation_percent(),
            self.low,
            self.high,
            self.shortest.as_secs_f64(),
            self.longest.as_secs_f64(),
            self.denied,
            self.failed,
            self.max_idle.as_secs_f64() * 1000.0
        )
    }
}
