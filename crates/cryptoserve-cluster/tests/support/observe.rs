//! What an operator would look at during a fault, read the same way by the drills: every
//! backend's decision counters from `/metrics` ([`Scrape`]) and what they say about when
//! decisions fell back and when Redis decided again, their `/health/ready`
//! ([`watch_readiness`]), a Redis Cluster replica's role ([`watch_promotion`]), nginx's access
//! log and the lines the backends logged since a moment (`log_lengths` → `logs_since`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cryptoserve_cluster::{probe, Cluster};
use cryptoserve_testkit::metrics::sum as metric_sum;
use cryptoserve_testkit::redis::RedisCluster;

use super::harness::Drills;

/// Pause between two polls of the same thing.
pub const POLL_PAUSE: Duration = Duration::from_millis(50);

/// Every backend's decision counters at one moment.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// When the last backend's `/metrics` had been read.
    pub at: Instant,
    pub fallback: Vec<f64>,
    pub redis: Vec<f64>,
    pub redis_errors: f64,
}

/// Every backend's `/health/ready` at one moment.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub at: Instant,
    /// Status per backend (0: no answer).
    pub status: Vec<u16>,
    /// Whether that answer's Redis check said `degraded`.
    pub redis_degraded: Vec<bool>,
}

impl Scrape {
    pub fn fallback_total(&self) -> f64 {
        self.fallback.iter().sum()
    }
}

pub fn scrape(drills: &Drills) -> Scrape {
    let mut fallback = Vec::new();
    let mut redis = Vec::new();
    let mut redis_errors = 0.0;
    for index in drills.running() {
        let text = drills.metrics(index);
        let decisions = "cryptoserve_rate_limit_backend_decisions_total";
        fallback.push(metric_sum(&text, decisions, "backend=\"fallback\""));
        redis.push(metric_sum(&text, decisions, "backend=\"redis\""));
        redis_errors += metric_sum(&text, "cryptoserve_redis_errors_total", "");
    }
    Scrape {
        at: Instant::now(),
        fallback,
        redis,
        redis_errors,
    }
}

/// Polls every backend's `/health/ready` (each answer waits for a Redis `PING`, up to the
/// Redis timeout, so this runs beside the metric scrapes, not between them) until `stop`.
pub fn watch_readiness(ops_ports: &[u16], stop: &AtomicBool) -> Vec<Readiness> {
    let mut seen = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let (mut status, mut redis_degraded) = (Vec::new(), Vec::new());
        for &port in ops_ports {
            let answer = probe::get(port, "/health/ready", Duration::from_secs(2));
            status.push(answer.as_ref().map_or(0, |answer| answer.status));
            redis_degraded.push(answer.is_some_and(|answer| {
                serde_json::from_str::<serde_json::Value>(&answer.body)
                    .is_ok_and(|body| body["checks"]["redis"]["status"] == "degraded")
            }));
        }
        seen.push(Readiness {
            at: Instant::now(),
            status,
            redis_degraded,
        });
        std::thread::sleep(POLL_PAUSE);
    }
    seen
}

/// Asks the replica for its role until it says master (or `deadline`), and records when.
pub fn watch_promotion(
    redis: &RedisCluster,
    replica: u16,
    deadline: Instant,
    promoted: &OnceLock<Instant>,
) {
    while Instant::now() < deadline {
        if redis.is_master(replica).unwrap_or(false) {
            let _ = promoted.set(Instant::now());
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// When the fallback counter (of any backend) was last seen rising: the last fallback
/// decision happened before that scrape.
pub fn last_fallback_increase(scrapes: &[Scrape]) -> Option<Instant> {
    scrapes
        .windows(2)
        .filter(|pair| pair[1].fallback_total() > pair[0].fallback_total())
        .map(|pair| pair[1].at)
        .next_back()
}

/// The first scrape after `since` in which the backends together had made a fallback
/// decision since the last scrape before `since`.
pub fn first_fallback_after(scrapes: &[Scrape], since: Instant) -> Option<Instant> {
    let before = scrapes.iter().rfind(|s| s.at < since)?;
    scrapes
        .iter()
        .find(|s| s.at >= since && s.fallback_total() > before.fallback_total())
        .map(|s| s.at)
}

/// Per backend: how long after `since` (a promotion) Redis decided its requests again. That
/// is the end of its continuous fallback: the scrape before the first interval after `since`
/// in which only Redis decided (its `fallback` counter flat, its `redis` one rising); zero if
/// that scrape came before `since`; `None` if it never happened.
pub fn redis_again_per_backend(scrapes: &[Scrape], since: Instant) -> Vec<Option<Duration>> {
    let backends = scrapes.first().map_or(0, |s| s.fallback.len());
    (0..backends)
        .map(|backend| {
            scrapes
                .windows(2)
                .filter(|pair| pair[1].at > since)
                .find(|pair| {
                    pair[1].fallback[backend] == pair[0].fallback[backend]
                        && pair[1].redis[backend] > pair[0].redis[backend]
                })
                .map(|pair| pair[0].at.saturating_duration_since(since))
        })
        .collect()
}

/// Fallback decisions from `from` on, and the last scrape that saw one.
pub fn fallback_from(scrapes: &[Scrape], from: Instant) -> (f64, Option<Instant>) {
    let after: Vec<&Scrape> = scrapes.iter().filter(|s| s.at >= from).collect();
    let (Some(first), Some(last)) = (after.first(), after.last()) else {
        return (0.0, None);
    };
    let last_rise = after
        .windows(2)
        .filter(|pair| pair[1].fallback_total() > pair[0].fallback_total())
        .map(|pair| pair[1].at)
        .next_back();
    (last.fallback_total() - first.fallback_total(), last_rise)
}

/// Each scrape after `since` in which fallback decisions were made: `seconds: +count`.
pub fn fallback_timeline(scrapes: &[Scrape], since: Instant) -> Vec<String> {
    scrapes
        .windows(2)
        .filter(|pair| pair[1].at >= since)
        .filter(|pair| pair[1].fallback_total() > pair[0].fallback_total())
        .map(|pair| {
            format!(
                "{:.2}: +{}",
                pair[1].at.duration_since(since).as_secs_f64(),
                pair[1].fallback_total() - pair[0].fallback_total()
            )
        })
        .collect()
}

/// nginx's JSON access log, one value per request.
pub fn access_log(cluster: &Cluster) -> Vec<serde_json::Value> {
    std::fs::read_to_string(cluster.nginx_access_log())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The length of every backend's log now, so the drill reads only what the failover wrote.
pub fn log_lengths(cluster: &Cluster) -> Vec<usize> {
    cluster
        .backends()
        .iter()
        .map(|backend| std::fs::read(backend.log_path()).map_or(0, |log| log.len()))
        .collect()
}

/// The lines every backend logged after `offsets`.
pub fn logs_since(cluster: &Cluster, offsets: &[usize]) -> Vec<String> {
    cluster
        .backends()
        .iter()
        .zip(offsets)
        .flat_map(|(backend, &offset)| {
            let log = std::fs::read(backend.log_path()).unwrap_or_default();
            let new = log.get(offset..).unwrap_or_default();
            String::from_utf8_lossy(new)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The limiter's transition lines, and the first "degraded" one.
pub fn transitions(lines: &[String]) -> (usize, usize, Option<String>) {
    let (mut degraded, mut recovered, mut first) = (0, 0, None);
    for line in lines {
        if line.contains("redis rate limiting degraded; using fallback") {
            degraded += 1;
            first.get_or_insert_with(|| line.clone());
        } else if line.contains("redis rate limiting recovered") {
            recovered += 1;
        }
    }
    (degraded, recovered, first)
}

/// Distinct `WARN`/`ERROR` messages (with their count) among JSON log lines.
pub fn warnings(lines: &[String]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for line in lines {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if entry["level"] == "WARN" || entry["level"] == "ERROR" {
            let mut message = entry["message"].as_str().unwrap_or_default().to_owned();
            // fred names each client `fred-<random id>: `; count them as one message.
            if let Some(rest) = message.strip_prefix("fred-") {
                message = format!("fred-<id>{}", &rest[rest.find(':').unwrap_or(0)..]);
            }
            let message = format!("{} {message}", entry["level"].as_str().unwrap_or_default());
            *counts.entry(message).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// The `WARN`/`ERROR` lines themselves (the first 20), with their timestamps and errors.
pub fn warning_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.contains("\"level\":\"WARN\"") || line.contains("\"level\":\"ERROR\""))
        .take(20)
        .cloned()
        .collect()
}

/// `instance timestamp: error` of every "degraded; using fallback" line.
pub fn degraded_errors(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.contains("redis rate limiting degraded; using fallback"))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|entry| {
            format!(
                "{} {}: {}",
                entry["instance_id"].as_str().unwrap_or_default(),
                entry["timestamp"].as_str().unwrap_or_default(),
                entry["error"].as_str().unwrap_or_default()
            )
        })
        .collect()
}
