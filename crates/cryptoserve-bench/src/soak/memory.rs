//! Memory over the soak: VmRSS of every CryptoServe instance (the target) and of nginx, Redis
//! and PostgreSQL (for reading only), sampled every [`SAMPLE_EVERY`], and the growth figure.
//!
//! # Growth
//!
//! The first minute is warm-up: caches fill, mimalloc's arenas and the connection pools reach
//! their working size. Growth is therefore measured from the first sample at or after the end
//! of warm-up ([`WARMUP`]) to the last sample (the end of the run):
//! `(end − baseline) ÷ baseline`. A run too short to have a sample after warm-up other than
//! the last one measures from its first sample instead, and says so.

use std::time::Duration;

use serde::Serialize;

use crate::procstat;

/// How often RSS is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Warm-up excluded from the growth figure.
pub const WARMUP: Duration = Duration::from_secs(60);

/// One process (or process group) to follow.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// `backend-0`, `nginx`, …
    pub name: String,
    /// Its pid (for a group, the parent: nginx's master, the postmaster).
    pub pid: u32,
    /// Add the direct children's RSS (nginx workers, PostgreSQL connection processes).
    pub with_children: bool,
    /// A CryptoServe instance: held to the growth target.
    pub instance: bool,
}

impl Tracked {
    /// VmRSS now, KiB (summed over the children for a group); `None` when the process is gone.
    pub fn rss_kib(&self) -> Option<u64> {
        let own = procstat::rss_kib(self.pid)?;
        if !self.with_children {
            return Some(own);
        }
        let children: u64 = procstat::children(self.pid)
            .into_iter()
            .filter_map(procstat::rss_kib)
            .sum();
        Some(own + children)
    }
}

/// One RSS reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the start of the soak.
    pub at_secs: f64,
    /// VmRSS, KiB.
    pub rss_kib: u64,
}

/// Every reading of one process.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Process name.
    pub name: String,
    /// A CryptoServe instance (held to the target).
    pub instance: bool,
    /// Readings, in time order.
    pub samples: Vec<Sample>,
    /// Growth from the end of warm-up to the end; `None` with fewer than two readings.
    pub growth: Option<Growth>,
}

/// RSS growth over the measured part of the soak.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Growth {
    /// The reading growth is measured from.
    pub baseline: Sample,
    /// The last reading.
    pub end: Sample,
    /// Whether the baseline is after warm-up (false: the run was too short, baseline = start).
    pub after_warmup: bool,
    /// `(end − baseline) ÷ baseline × 100`.
    pub percent: f64,
}

/// Growth of `samples` (time order) with `warmup` excluded, as the module docs define it.
pub fn growth(samples: &[Sample], warmup: Duration) -> Option<Growth> {
    let (first, end) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let after = samples
        .iter()
        .find(|s| s.at_secs >= warmup.as_secs_f64())
        .filter(|s| s.at_secs < end.at_secs);
    let baseline = after.unwrap_or(first);
    let percent = if baseline.rss_kib == 0 {
        0.0
    } else {
        (end.rss_kib as f64 - baseline.rss_kib as f64) / baseline.rss_kib as f64 * 100.0
    };
    Some(Growth {
        baseline: *baseline,
        end: *end,
        after_warmup: after.is_some(),
        percent,
    })
}

/// The reading closest to `at_secs` (for the per-minute table).
pub fn at(samples: &[Sample], at_secs: f64) -> Option<Sample> {
    samples
        .iter()
        .min_by(|a, b| {
            (a.at_secs - at_secs)
                .abs()
                .total_cmp(&(b.at_secs - at_secs).abs())
        })
        .copied()
}

/// Takes one reading of every tracked process; a gone process is skipped (the caller notices
/// dead backends separately).
pub fn sample_all(tracked: &[Tracked], series: &mut [Series], at_secs: f64) {
    for (process, line) in tracked.iter().zip(series.iter_mut()) {
        if let Some(rss_kib) = process.rss_kib() {
            line.samples.push(Sample { at_secs, rss_kib });
        }
    }
}

/// Empty series for `tracked`, in the same order.
pub fn series_for(tracked: &[Tracked]) -> Vec<Series> {
    tracked
        .iter()
        .map(|process| Series {
            name: process.name.clone(),
            instance: process.instance,
            samples: Vec::new(),
            growth: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(points: &[(f64, u64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(at_secs, rss_kib)| Sample { at_secs, rss_kib })
            .collect()
    }

    #[test]
    fn growth_is_measured_from_the_end_of_warm_up() {
        // Start 30 MiB, 40 MiB after warm-up, 42 MiB at the end: +5 %, not +40 %.
        let line = samples(&[
            (0.0, 30_720),
            (30.0, 38_000),
            (60.0, 40_960),
            (600.0, 43_008),
        ]);
        let growth = growth(&line, WARMUP).unwrap();
        assert!(growth.after_warmup);
        assert_eq!(growth.baseline.rss_kib, 40_960);
        assert!((growth.percent - 5.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_run_measures_from_the_start() {
        // Nothing after 60 s but the last reading itself.
        let line = samples(&[(0.0, 1000), (30.0, 1050), (60.0, 1100)]);
        let growth = growth(&line, WARMUP).unwrap();
        assert!(!growth.after_warmup);
        assert_eq!(growth.baseline.rss_kib, 1000);
        assert!((growth.percent - 10.0).abs() < 1e-9);
    }

    #[test]
    fn shrinking_is_negative_and_one_reading_is_no_growth() {
        let line = samples(&[(0.0, 1000), (65.0, 2000), (120.0, 1500)]);
        assert!((growth(&line, WARMUP).unwrap().percent + 25.0).abs() < 1e-9);
        assert!(growth(&samples(&[(0.0, 1000)]), WARMUP).is_none());
        assert!(growth(&[], WARMUP).is_none());
    }

    #[test]
    fn nearest_reading() {
        let line = samples(&[(0.0, 1), (5.0, 2), (60.0, 3), (65.0, 4)]);
        assert_eq!(at(&line, 61.0).map(|s| s.rss_kib), Some(3));
        assert_eq!(at(&line, 120.0).map(|s| s.rss_kib), Some(4));
        assert!(at(&[], 1.0).is_none());
    }

    #[test]
    fn our_own_process_is_readable() {
        let me = Tracked {
            name: "bench".into(),
            pid: std::process::id(),
            with_children: true,
            instance: false,
        };
        assert!(me.rss_kib().is_some_and(|kib| kib > 0));
    }
}
