//! A small closed-loop load generator: workers send encrypts round-robin over the instances
//! of a fleet and record every request (when it left, when it came back, what it got), so the
//! tests can count by phase afterwards instead of relying on sleeps.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::helpers::encrypt_body;
use crate::support::TestApp;

/// One request's fate.
#[derive(Debug, Clone)]
pub struct Sample {
    pub sent: Instant,
    pub received: Instant,
    /// The HTTP status, or the transport error (including the client's 5 s timeout).
    pub outcome: Result<u16, String>,
}

/// Running workers.
pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts `workers` workers for `token` over `apps`, until `deadline` or [`Load::finish`].
    pub fn start(apps: &[TestApp], token: &str, workers: usize, deadline: Option<Instant>) -> Load {
        let urls: Arc<Vec<String>> = Arc::new(
            apps.iter()
                .map(|app| format!("{}/api/v1/crypto/encrypt", app.address))
                .collect(),
        );
        // A hang would show up as a timeout error, which every test treats as a failure.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let body = serde_json::to_vec(&encrypt_body()).unwrap();
        let next = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let (urls, client, body) = (Arc::clone(&urls), client.clone(), body.clone());
                let (next, stop, token) = (Arc::clone(&next), Arc::clone(&stop), token.to_owned());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    loop {
                        let sent = Instant::now();
                        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| sent >= d) {
                            return samples;
                        }
                        let url = &urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()];
                        let outcome = send(&client, url, &token, body.clone()).await;
                        samples.push(Sample {
                            sent,
                            received: Instant::now(),
                            outcome,
                        });
                    }
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the workers (or waits for the deadline) and returns every sample.
    pub async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for worker in self.workers {
            all.extend(worker.await.unwrap());
        }
        all
    }

    /// Waits for the deadline given to [`Load::start`] and returns every sample.
    pub async fn join(self) -> Vec<Sample> {
        let mut all = Vec::new();
        for worker in self.workers {
            all.extend(worker.await.unwrap());
        }
        all
    }
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<u16, String> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    // Read the body so the connection goes back to the pool.
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok(status)
}

/// Samples that are neither admitted (200) nor rate limited (429): 5xx, other codes, errors.
pub fn undecided(samples: &[Sample]) -> Vec<&Sample> {
    samples
        .iter()
        .filter(|s| !matches!(s.outcome, Ok(200) | Ok(429)))
        .collect()
}

/// How many samples got `status`.
pub fn count(samples: &[Sample], status: u16) -> usize {
    samples
        .iter()
        .filter(|s| s.outcome.as_ref().is_ok_and(|&c| c == status))
        .count()
}
