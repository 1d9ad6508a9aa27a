//! The targets of issue #17, each checked PASS / FAIL against this run: CryptoServe's rates
//! as fractions of the floor's (`crate::floor`), the cluster's p99 at half of saturation at a
//! constant rate (`crate::sweep`), and peak RSS per instance.
//!
//! A ratio target passes when the median over the rounds meets it at every concurrency; the
//! min and max are shown beside it. A target whose runs did not happen is "not run".

use std::fmt::Write as _;

use crate::floor::result::FloorResult;
use crate::floor::{FLOOR_ENCRYPT_256, FLOOR_LIVE};
use crate::report::Report;
use crate::scenario::{DECRYPT_256, ENCRYPT_256, HEALTH_LIVE};
use crate::setup::SetupKind;
use crate::sweep::SweepPoint;

/// Cluster p99 at half of saturation, constant rate, ms.
pub const CLUSTER_P99_MS: f64 = 10.0;
/// The sweep point the cluster target reads.
pub const CLUSTER_FRACTION: f64 = 0.5;
/// Peak RSS of any one CryptoServe instance, MiB.
pub const RSS_MIB: f64 = 32.0;

/// Each ratio target: our setup and scenario, the floor's scenario, the least median ratio.
pub const RATIO_TARGETS: [(SetupKind, &str, &str, f64, &str); 5] = [
    (
        SetupKind::Embedded,
        ENCRYPT_256,
        FLOOR_ENCRYPT_256,
        0.85,
        "embedded: encrypt 256 B ÷ floor encrypt",
    ),
    (
        SetupKind::Embedded,
        DECRYPT_256,
        FLOOR_ENCRYPT_256,
        0.85,
        "embedded: decrypt 256 B ÷ floor encrypt",
    ),
    (
        SetupKind::Embedded,
        HEALTH_LIVE,
        FLOOR_LIVE,
        0.90,
        "embedded: `/health/live` ÷ floor `/live`",
    ),
    (
        SetupKind::Redis,
        ENCRYPT_256,
        FLOOR_ENCRYPT_256,
        0.75,
        "Redis, leases on: encrypt 256 B ÷ floor encrypt",
    ),
    (
        SetupKind::RedisUnleased,
        ENCRYPT_256,
        FLOOR_ENCRYPT_256,
        0.50,
        "Redis, leases off: encrypt 256 B ÷ floor encrypt",
    ),
];

/// How a target fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Met.
    Pass,
    /// Missed.
    Fail,
    /// Its runs were not part of this run.
    NotRun,
}

impl Verdict {
    /// `PASS`, `FAIL` or `not run`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotRun => "not run",
        }
    }

    fn of(met: bool) -> Verdict {
        if met {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One target and this run's figure.
#[derive(Debug, Clone)]
pub struct Check {
    /// The target, in words.
    pub target: String,
    /// This run's figures.
    pub this_run: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every check, in the order of the table.
pub fn checks(report: &Report) -> Vec<Check> {
    let mut checks: Vec<Check> = RATIO_TARGETS
        .iter()
        .map(|&(setup, ours, floor, least, label)| {
            ratio_check(report.floor.as_ref(), setup, ours, floor, least, label)
        })
        .collect();
    let half = report
        .setups
        .iter()
        .find(|s| s.setup == SetupKind::Cluster)
        .and_then(|s| {
            s.sweep
                .iter()
                .find(|p| (p.fraction - CLUSTER_FRACTION).abs() < 1e-9)
        });
    checks.push(cluster_check(half));
    checks.push(rss_check(report));
    checks
}

/// Ours ÷ floor at every concurrency: median ≥ `least`.
pub fn ratio_check(
    floor: Option<&FloorResult>,
    setup: SetupKind,
    ours: &str,
    floor_scenario: &str,
    least: f64,
    label: &str,
) -> Check {
    let target = format!("{label} ≥ {least:.2} (median of rounds, each concurrency)");
    let comparisons: Vec<_> = floor
        .map(|f| f.find(setup, ours, floor_scenario).collect())
        .unwrap_or_default();
    let medians: Vec<Option<f64>> = comparisons
        .iter()
        .map(|c| c.ratio.map(|s| s.median))
        .collect();
    if comparisons.is_empty() {
        return Check {
            target,
            this_run: "not run".to_owned(),
            verdict: Verdict::NotRun,
        };
    }
    let met = medians.iter().all(|m| m.is_some_and(|m| m >= least));
    let parts: Vec<String> = comparisons
        .iter()
        .map(|c| {
            format!(
                "c={}: {} (min / median / max)",
                c.concurrency,
                crate::floor::report_md::spread(c.ratio, 2)
            )
        })
        .collect();
    Check {
        target,
        this_run: parts.join("; "),
        verdict: Verdict::of(met),
    }
}

/// The cluster's p99 at half of saturation, offered at a constant rate.
pub fn cluster_check(half: Option<&SweepPoint>) -> Check {
    let target = format!(
        "cluster: p99 ≤ {CLUSTER_P99_MS:.0} ms at {:.0} % of saturation, constant rate, achieved within 5 % of offered",
        CLUSTER_FRACTION * 100.0
    );
    let Some(point) = half else {
        return Check {
            target,
            this_run: "not run".to_owned(),
            verdict: Verdict::NotRun,
        };
    };
    let (this_run, met) = match point.latency {
        Some(latency) => (
            format!(
                "p99 {:.2} ms from the due time; offered {:.0}/s, achieved {:.0}/s; {} errors",
                latency.p99_ms,
                point.offered_rps,
                point.achieved_rps,
                point.errors()
            ),
            latency.p99_ms <= CLUSTER_P99_MS,
        ),
        None => (
            format!(
                "saturated: achieved {:.0}/s of {:.0}/s offered",
                point.achieved_rps, point.offered_rps
            ),
            false,
        ),
    };
    Check {
        target,
        this_run,
        verdict: Verdict::of(met),
    }
}

/// The largest RSS of one CryptoServe instance in any run (setups and floor comparison).
pub fn rss_check(report: &Report) -> Check {
    let target = format!("peak RSS ≤ {RSS_MIB:.0} MiB per CryptoServe instance");
    let in_setups = report
        .setups
        .iter()
        .filter(|s| s.setup.is_cryptoserve())
        .flat_map(|s| s.results.iter().map(move |r| (s.setup, r)));
    let in_floor = report.floor.iter().flat_map(|f| {
        f.comparisons
            .iter()
            .flat_map(|c| c.rounds.iter().map(move |p| (c.setup, &p.ours)))
    });
    let peak = in_setups.chain(in_floor).max_by(|a, b| {
        a.1.max_rss_mib_per_instance
            .total_cmp(&b.1.max_rss_mib_per_instance)
    });
    match peak {
        None => Check {
            target,
            this_run: "not run".to_owned(),
            verdict: Verdict::NotRun,
        },
        Some((setup, run)) => Check {
            target,
            this_run: format!(
                "max {:.1} MiB ({} {} c={})",
                run.max_rss_mib_per_instance,
                setup.name(),
                run.scenario,
                run.concurrency
            ),
            verdict: Verdict::of(run.max_rss_mib_per_instance <= RSS_MIB),
        },
    }
}

/// Appends the table to `md`.
pub fn write(report: &Report, md: &mut String) {
    let _ = writeln!(md, "## Targets against the floor (issue #17)\n");
    let _ = writeln!(md, "| target | this run | verdict |\n|---|---|---|");
    for check in checks(report) {
        let _ = writeln!(
            md,
            "| {} | {} | **{}** |",
            check.target,
            check.this_run,
            check.verdict.label()
        );
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::floor::result::{Comparison, RoundPair};
    use crate::runner::ScenarioResult;
    use crate::soak::stats::Outcomes;
    use crate::wrk::Latency;

    fn run(scenario: &'static str, rps: f64) -> ScenarioResult {
        ScenarioResult {
            max_rss_mib_per_instance: 20.0,
            ..ScenarioResult::with_rate(scenario, 16, rps)
        }
    }

    fn floor_with(ours_rps: &[f64]) -> FloorResult {
        let rounds = ours_rps
            .iter()
            .enumerate()
            .map(|(i, &ours)| RoundPair {
                round: i as u32 + 1,
                floor_first: i % 2 == 0,
                floor: run(FLOOR_ENCRYPT_256, 10_000.0),
                ours: run(ENCRYPT_256, ours),
                ratio: ours / 10_000.0,
            })
            .collect();
        let mut comparison = Comparison {
            setup: SetupKind::Embedded,
            ours: ENCRYPT_256,
            floor: FLOOR_ENCRYPT_256,
            concurrency: 16,
            rounds,
            ratio: None,
        };
        comparison.summarise();
        FloorResult {
            rounds: ours_rps.len() as u32,
            comparisons: vec![comparison],
        }
    }

    #[test]
    fn ratio_targets_pass_on_the_median() {
        let check = |floor: &FloorResult| {
            ratio_check(
                Some(floor),
                SetupKind::Embedded,
                ENCRYPT_256,
                FLOOR_ENCRYPT_256,
                0.85,
                "x",
            )
        };
        // One bad round of three does not fail it; the spread shows it.
        let passing = check(&floor_with(&[8_000.0, 8_600.0, 9_000.0]));
        assert_eq!(passing.verdict, Verdict::Pass);
        assert_eq!(
            passing.this_run,
            "c=16: 0.80 / 0.86 / 0.90 (min / median / max)"
        );
        let failing = check(&floor_with(&[8_000.0, 8_400.0, 9_000.0]));
        assert_eq!(failing.verdict, Verdict::Fail);
        let absent = ratio_check(
            None,
            SetupKind::Redis,
            ENCRYPT_256,
            FLOOR_ENCRYPT_256,
            0.75,
            "x",
        );
        assert_eq!(absent.verdict, Verdict::NotRun);
    }

    #[test]
    fn a_saturated_cluster_point_fails_without_a_latency() {
        let mut point = SweepPoint {
            fraction: 0.5,
            offered_rps: 4000.0,
            connections: 64,
            achieved_rps: 3990.0,
            saturated: false,
            latency: Some(Latency {
                p99_ms: 8.0,
                ..Latency::default()
            }),
            outcomes: Outcomes::default(),
        };
        assert_eq!(cluster_check(Some(&point)).verdict, Verdict::Pass);
        point.latency = Some(Latency {
            p99_ms: 12.0,
            ..Latency::default()
        });
        assert_eq!(cluster_check(Some(&point)).verdict, Verdict::Fail);
        point.saturated = true;
        point.latency = None;
        let check = cluster_check(Some(&point));
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.this_run.starts_with("saturated"),
            "{}",
            check.this_run
        );
        assert_eq!(cluster_check(None).verdict, Verdict::NotRun);
    }
}
