//! The bench's constant-rate load generator, built for the soak and used by the load
//! benchmark's fixed-rate sweep too (`crate::sweep`): a fixed pool of workers on keep-alive
//! connections (reqwest; HTTPS over rustls through nginx in the cluster, plain HTTP to an
//! embedded server), either paced to a constant rate or, for the saturation probe, sending
//! back to back. What they send is a [`Traffic`]: the soak's mix, or one request.
//!
//! Paced: workers share one ticket counter ([`super::pacing`]); a free worker takes the next
//! ticket, sleeps until it is due, sends it, and records its latency from the *due* time and,
//! apart, from the moment it was sent. When every worker is busy, due tickets wait: their wait
//! is part of their latency, so a stall cannot hide (no coordinated omission). tokio's timer
//! has millisecond resolution, so a paced request leaves up to ~1 ms after its due time; the
//! latency from the due time includes that, the service time does not.
//!
//! Closed (the probe): the same workers send the same crypto mix back to back; the completed
//! rate is the saturation the paced run takes half of. Admin calls run only in paced mode, on
//! their own worker and clock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::TlsTrust;
use crate::error::{BenchError, Result};

use super::memory::{self, Series, Tracked};
use super::mix::{self, Prepared, Traffic};
use super::pacing::{minute_of, Pace};
use super::stats::{Class, Outcome, Recorder};

/// A request not answered within this counts as a transport error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Error answers kept verbatim for the report, per worker.
const ERROR_SAMPLES: usize = 5;

/// Where the load goes and what it sends.
#[derive(Debug)]
pub struct Driver {
    client: reqwest::Client,
    base_url: String,
    token: String,
    traffic: Traffic,
    workers: usize,
    stop: Arc<AtomicBool>,
}

/// How a run is scheduled.
#[derive(Debug, Clone, Copy)]
enum Schedule {
    /// Ticket `i` due at `start + pace.due(i)`, for `span`.
    Paced {
        start: Instant,
        pace: Pace,
        span: Duration,
    },
    /// Back to back from `start` until `end`.
    Closed { start: Instant, end: Instant },
}

impl Schedule {
    fn start(self) -> Instant {
        match self {
            Schedule::Paced { start, .. } | Schedule::Closed { start, .. } => start,
        }
    }
}

/// What a run recorded.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Latencies and outcomes per minute.
    pub recorder: Recorder,
    /// Requests sent, by kind name.
    pub sent: BTreeMap<&'static str, u64>,
    /// A few error answers (status, path, start of the body) or transport errors.
    pub error_samples: Vec<String>,
    /// From the start to the last answer.
    pub elapsed: Duration,
}

impl LoadResult {
    fn merge(&mut self, other: LoadResult) {
        self.recorder.merge(other.recorder);
        for (kind, count) in other.sent {
            *self.sent.entry(kind).or_default() += count;
        }
        for sample in other.error_samples {
            if self.error_samples.len() < 2 * ERROR_SAMPLES && !self.error_samples.contains(&sample)
            {
                self.error_samples.push(sample);
            }
        }
    }
}

impl Driver {
    /// A client sending `traffic` on `workers` connections at most; over HTTPS it trusts only
    /// `ca` (nginx's certificate).
    pub fn new(
        base_url: &str,
        token: &str,
        ca: Option<&TlsTrust>,
        traffic: Traffic,
        workers: usize,
        stop: Arc<AtomicBool>,
    ) -> Result<Driver> {
        let builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .http1_only()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(workers + 1);
        let builder = match ca {
            Some(ca) => ca.apply(builder)?,
            None => builder,
        };
        let client = builder.build().map_err(|error| BenchError::Http {
            what: "building the constant-rate client".into(),
            detail: error.to_string(),
        })?;
        Ok(Driver {
            client,
            base_url: base_url.to_owned(),
            token: token.to_owned(),
            traffic,
            workers: workers.max(1),
            stop,
        })
    }

    /// The crypto mix back to back for `span`: the saturation probe (and its warm-up).
    pub async fn closed(self: &Arc<Self>, span: Duration) -> Result<LoadResult> {
        let start = Instant::now();
        let schedule = Schedule::Closed {
            start,
            end: start + span,
        };
        self.run(schedule, &[]).await.map(|(result, _)| result)
    }

    /// The traffic at `pace` (the mix with the admin trickle) for `span`, sampling the RSS of
    /// `tracked` every [`memory::SAMPLE_EVERY`] and once more at the end.
    pub async fn paced(
        self: &Arc<Self>,
        pace: Pace,
        span: Duration,
        tracked: &[Tracked],
    ) -> Result<(LoadResult, Vec<Series>)> {
        let schedule = Schedule::Paced {
            start: Instant::now(),
            pace,
            span,
        };
        self.run(schedule, tracked).await
    }

    async fn run(
        self: &Arc<Self>,
        schedule: Schedule,
        tracked: &[Tracked],
    ) -> Result<(LoadResult, Vec<Series>)> {
        let tickets = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::with_capacity(self.workers + 1);
        for _ in 0..self.workers {
            let (driver, tickets) = (Arc::clone(self), Arc::clone(&tickets));
            tasks.push(tokio::spawn(async move {
                driver.crypto_worker(schedule, &tickets).await
            }));
        }
        if let (Schedule::Paced { start, span, .. }, true) = (schedule, self.traffic.has_admin()) {
            let driver = Arc::clone(self);
            tasks.push(tokio::spawn(async move {
                driver.admin_worker(start, span).await
            }));
        }
        let mut series = memory::series_for(tracked);
        if let Schedule::Paced { start, span, .. } = schedule {
            let mut next = start;
            while next <= start + span && !self.stop.load(Ordering::Relaxed) {
                tokio::time::sleep_until(next.into()).await;
                memory::sample_all(tracked, &mut series, (next - start).as_secs_f64());
                next += memory::SAMPLE_EVERY;
            }
        }
        let mut result = LoadResult::default();
        for task in tasks {
            let part = task
                .await
                .map_err(|error| BenchError::Server(format!("a soak worker failed: {error}")))?;
            result.merge(part);
        }
        result.elapsed = schedule.start().elapsed();
        if self.stop.load(Ordering::Relaxed) {
            return Err(BenchError::Interrupted);
        }
        Ok((result, series))
    }

    async fn crypto_worker(&self, schedule: Schedule, tickets: &AtomicU64) -> LoadResult {
        let mut result = LoadResult::default();
        while !self.stop.load(Ordering::Relaxed) {
            let ticket = tickets.fetch_add(1, Ordering::Relaxed);
            let due = match schedule {
                Schedule::Paced { start, pace, span } => {
                    let offset = pace.due(ticket);
                    if offset >= span {
                        break;
                    }
                    let due = start + offset;
                    tokio::time::sleep_until(due.into()).await;
                    due
                }
                Schedule::Closed { end, .. } => {
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    now
                }
            };
            let (request, name, batch) = self.traffic.for_ticket(ticket);
            self.send(
                request,
                batch,
                due,
                schedule.start(),
                Class::Crypto,
                &mut result,
            )
            .await;
            *result.sent.entry(name).or_default() += 1;
        }
        result
    }

    async fn admin_worker(&self, start: Instant, span: Duration) -> LoadResult {
        let mut result = LoadResult::default();
        let Some(pace) = Pace::per_second(mix::ADMIN_PER_SECOND) else {
            return result;
        };
        for ticket in 0..pace.tickets_within(span) {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let due = start + pace.due(ticket);
            tokio::time::sleep_until(due.into()).await;
            let (op, cycle) = mix::admin_op(ticket);
            let request = mix::admin_request(op, cycle, chrono::Utc::now());
            self.send(&request, false, due, start, Class::Admin, &mut result)
                .await;
            *result.sent.entry(op.name()).or_default() += 1;
        }
        result
    }

    /// Sends `request`, records its outcome and latencies in the minute it was due (counted
    /// from `start`), and its completion in the minute it completed.
    async fn send(
        &self,
        request: &Prepared,
        batch: bool,
        due: Instant,
        start: Instant,
        class: Class,
        result: &mut LoadResult,
    ) {
        let url = format!("{}{}", self.base_url, request.path);
        let mut builder = self
            .client
            .request(request.method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let sent = Instant::now();
        let answer = match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.map(|body| (status, body))
            }
            Err(error) => Err(error),
        };
        let done = Instant::now();
        let (outcome, sample) = match answer {
            Ok((status, body)) => {
                let item_error = batch && contains(&body, b"\"error\"");
                let outcome = Outcome::of_status(status, item_error);
                let sample = (outcome != Outcome::Ok).then(|| {
                    let head = String::from_utf8_lossy(&body[..body.len().min(200)]);
                    format!("{status} {} {}: {head}", request.method, request.path)
                });
                (outcome, sample)
            }
            Err(error) => (
                Outcome::Transport,
                Some(format!("{} {}: {error}", request.method, request.path)),
            ),
        };
        if let Some(sample) = sample {
            if result.error_samples.len() < ERROR_SAMPLES {
                result.error_samples.push(sample);
            }
        }
        result.recorder.record(
            minute_of(due - start),
            class,
            micros(done - due),
            micros(done - sent),
            outcome,
        );
        result.recorder.record_completion(minute_of(done - start));
    }
}

/// `duration` in whole microseconds, saturating (a u32 holds 71 minutes).
fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_item_errors_are_spotted() {
        let body = br#"{"results":[{"id":"0","error":{"code":"x","message":"y"}}]}"#;
        assert!(contains(body, b"\"error\""));
        assert!(!contains(
            br#"{"results":[{"id":"0","plaintext":"AA=="}]}"#,
            b"\"error\""
        ));
        assert_eq!(micros(Duration::from_millis(3)), 3000);
        assert_eq!(micros(Duration::from_secs(1 << 40)), u32::MAX);
    }
}
