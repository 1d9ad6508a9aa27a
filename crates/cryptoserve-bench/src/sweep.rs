//! The fixed-rate sweep: encrypt 256 B offered at constant rates, fractions of the setup's
//! saturation (its best wrk rate), with latency counted from each request's *due* time.
//!
//! wrk cannot hold a rate (Debian has no wrk2), and pacing it with `delay()` measured from the
//! send: a connection waiting for a slow answer sends nothing, so the offered rate fell away
//! exactly when it mattered and the queueing never showed (coordinated omission). The sweep
//! therefore drives the server with the soak's open-loop client ([`crate::soak`]'s `client`):
//! request *i* is due *i* ÷ rate after the start on up to [`CONNECTIONS`] keep-alive
//! connections, and its latency runs from its due time, so a request that waited for a free
//! connection counts its wait.
//!
//! Every point reports the offered and the achieved rate (answers ÷ time from the start to
//! the last answer). A point whose achieved rate misses the offered one by more than
//! [`SATURATION_TOLERANCE`] is marked `saturated`: the server (or the client, on the same
//! cores) could not keep the rate, its latency is the length of a growing queue rather than
//! a latency, and it is not reported as one.

use std::sync::Arc;

use serde::Serialize;

use crate::api::TlsTrust;
use crate::error::{io_err, BenchError, Result};
use crate::runner::{Plan, SETTLE};
use crate::scenario::Scenario;
use crate::setup::Running;
use crate::soak::client::{Driver, LoadResult};
use crate::soak::mix::{Prepared, Traffic};
use crate::soak::pacing::Pace;
use crate::soak::stats::{percentile, Outcomes};
use crate::wrk::Latency;

/// Open connections of the constant-rate client.
pub const CONNECTIONS: usize = 64;
/// A point is saturated when its achieved rate is below offered × (1 − this).
pub const SATURATION_TOLERANCE: f64 = 0.05;

/// One step of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    /// Fraction of the saturation rate offered.
    pub fraction: f64,
    /// Offered rate, requests/s.
    pub offered_rps: f64,
    /// Connections the client may use (at most this many requests in flight).
    pub connections: u32,
    /// Achieved rate: answers ÷ seconds from the start to the last answer.
    pub achieved_rps: f64,
    /// The achieved rate missed the offered one by more than [`SATURATION_TOLERANCE`].
    pub saturated: bool,
    /// Latency from the due time; `None` when saturated (it would only measure the queue).
    pub latency: Option<Latency>,
    /// Outcomes (2xx, 5xx, 429, other, transport).
    pub outcomes: Outcomes,
}

impl SweepPoint {
    /// Requests that did not end in a 2xx.
    pub fn errors(&self) -> u64 {
        self.outcomes.total() - self.outcomes.ok
    }
}

/// Whether `achieved` misses `offered` by more than [`SATURATION_TOLERANCE`].
pub fn is_saturated(offered_rps: f64, achieved_rps: f64) -> bool {
    achieved_rps < offered_rps * (1.0 - SATURATION_TOLERANCE)
}

/// p50/p95/p99/max/mean of `sorted` (µs, ascending), in ms.
pub fn latency_of(sorted: &[u32]) -> Latency {
    let ms = |p: f64| percentile(sorted, p).map_or(0.0, |us| f64::from(us) / 1000.0);
    let sum: u64 = sorted.iter().map(|&us| u64::from(us)).sum();
    Latency {
        p50_ms: ms(50.0),
        p95_ms: ms(95.0),
        p99_ms: ms(99.0),
        max_ms: ms(100.0),
        mean_ms: if sorted.is_empty() {
            0.0
        } else {
            sum as f64 / sorted.len() as f64 / 1000.0
        },
    }
}

/// The point a run at `offered_rps` recorded.
pub fn point(fraction: f64, offered_rps: f64, load: &LoadResult) -> SweepPoint {
    let (latencies, outcomes) = load.recorder.crypto_overall();
    let seconds = load.elapsed.as_secs_f64();
    let achieved_rps = if seconds > 0.0 {
        outcomes.total() as f64 / seconds
    } else {
        0.0
    };
    let saturated = is_saturated(offered_rps, achieved_rps);
    SweepPoint {
        fraction,
        offered_rps,
        connections: CONNECTIONS as u32,
        achieved_rps,
        saturated,
        latency: (!saturated).then(|| latency_of(&latencies)),
        outcomes,
    }
}

/// Sweeps `encrypt` against `running` at `plan.sweep_fractions` of `saturation_rps`, after a
/// warm-up at the first fraction that also opens the connections.
pub fn run(
    running: &Running,
    plan: &Plan,
    encrypt: &Scenario,
    saturation_rps: f64,
) -> Result<Vec<SweepPoint>> {
    let body = match &encrypt.request.body_file {
        Some(file) => std::fs::read(file).map_err(io_err("reading the encrypt body"))?,
        None => Vec::new(),
    };
    let traffic = Traffic::One {
        name: encrypt.name,
        request: Prepared::post_raw(&encrypt.request.path, body),
    };
    // Through nginx the client trusts the cluster's CA; nginx asks for no client certificate.
    let ca = running.tls.as_ref().map(|trust| TlsTrust {
        ca_cert: trust.ca_cert.clone(),
        client_identity: None,
    });
    let driver = Arc::new(Driver::new(
        &running.url,
        &running.token,
        ca.as_ref(),
        traffic,
        CONNECTIONS,
        Arc::clone(&plan.stop),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io_err("starting the sweep client's runtime"))?;
    let pace = |fraction: f64| {
        Pace::per_second(saturation_rps * fraction).ok_or_else(|| {
            BenchError::Server(format!(
                "sweep: no usable rate at {fraction} × {saturation_rps}"
            ))
        })
    };
    if let Some(&first) = plan.sweep_fractions.first() {
        plan.check_stop()?;
        std::thread::sleep(SETTLE);
        runtime.block_on(driver.paced(pace(first)?, plan.warmup, &[]))?;
    }
    let mut points = Vec::new();
    for &fraction in &plan.sweep_fractions {
        plan.check_stop()?;
        std::thread::sleep(SETTLE);
        let pace = pace(fraction)?;
        let (load, _) = runtime.block_on(driver.paced(pace, plan.sweep_duration, &[]))?;
        let point = point(fraction, pace.rate(), &load);
        eprintln!(
            "  {} sweep {:.0} %: offered {:.0}/s, achieved {:.0}/s{}",
            running.kind.name(),
            fraction * 100.0,
            point.offered_rps,
            point.achieved_rps,
            point.latency.map_or_else(
                || " (saturated)".to_owned(),
                |l| format!(", p99 {:.2} ms", l.p99_ms)
            )
        );
        points.push(point);
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::stats::{Class, Outcome};
    use std::time::Duration;

    #[test]
    fn a_point_more_than_five_percent_short_is_saturated() {
        assert!(!is_saturated(1000.0, 1000.0));
        assert!(!is_saturated(1000.0, 951.0));
        assert!(!is_saturated(1000.0, 950.0));
        assert!(is_saturated(1000.0, 949.0));
        assert!(!is_saturated(1000.0, 1010.0));
    }

    fn load(answers: u32, elapsed: Duration) -> LoadResult {
        let mut load = LoadResult::default();
        for i in 1..=answers {
            load.recorder
                .record(0, Class::Crypto, i * 10, i * 5, Outcome::Ok);
        }
        load.elapsed = elapsed;
        load
    }

    #[test]
    fn points_report_latency_only_when_the_rate_was_kept() {
        // 1 000 answers in 1 s at 1 000/s offered: kept; p99 is the 990th of 10..10 000 µs.
        let kept = point(0.5, 1000.0, &load(1000, Duration::from_secs(1)));
        assert!(!kept.saturated);
        assert!((kept.achieved_rps - 1000.0).abs() < 1e-9);
        let latency = kept.latency.unwrap();
        assert!((latency.p99_ms - 9.9).abs() < 1e-9);
        assert!((latency.max_ms - 10.0).abs() < 1e-9);
        assert_eq!(kept.errors(), 0);
        // The same answers took 2 s: half the offered rate, no latency reported.
        let short = point(1.0, 1000.0, &load(1000, Duration::from_secs(2)));
        assert!(short.saturated);
        assert!(short.latency.is_none());
    }
}
