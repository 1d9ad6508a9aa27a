//! The soak's report: `benches/results/<date>-soak.json` (every figure, every RSS reading),
//! `<date>-soak.md` (the target check, the per-minute table, memory per process) and
//! `<date>-soak.svg`. A run of other than the default 10 minutes is named
//! `<date>-soak-<N>min.*`, so a short check never overwrites a real soak.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{io_err, Result};
use crate::machine::Machine;

use super::client::LoadResult;
use super::memory::{self, Series, WARMUP};
use super::mix;
use super::pacing::{minutes_in, MINUTE};
use super::stats::{LatencySummary, MinuteSummary, Outcomes};
use super::{SoakOptions, RSS_GROWTH_LIMIT_PERCENT};

/// Median lateness (due → send) above which a minute counts as behind schedule: well above
/// the timer's 1 ms slack.
const SCHEDULE_SLACK_MS: f64 = 5.0;

/// The soak length the report is named plainly for.
pub const DEFAULT_MINUTES: u64 = 10;

/// Facts about the run that the soak itself does not measure.
#[derive(Debug, Clone, Serialize)]
pub struct SoakHeader {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// RFC 3339 start time (UTC).
    pub started_at: String,
    /// The command as typed.
    pub command: String,
    /// Machine and commit.
    pub machine: Machine,
    /// Load averages (1/5/15 min) before the run.
    pub load_average_before: String,
}

/// The saturation probe: the crypto mix back to back.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// Measured seconds.
    pub secs: u64,
    /// 2xx crypto answers ÷ measured time.
    pub saturation_rps: f64,
    /// Latency at saturation (send → answer).
    pub latency: LatencySummary,
    /// Outcomes during the probe.
    pub outcomes: Outcomes,
}

impl Probe {
    /// The probe's figures from its run.
    pub fn from_run(run: LoadResult, span: Duration) -> Probe {
        let seconds = run.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        let minutes = run.recorder.summarize(|_| seconds);
        let mut outcomes = Outcomes::default();
        for minute in &minutes {
            outcomes.merge(&minute.crypto_outcomes);
        }
        Probe {
            secs: span.as_secs(),
            // Successful answers only: fast error answers must not inflate the rate.
            saturation_rps: outcomes.ok as f64 / seconds,
            // A probe shorter than a minute is one bucket; its latency is the whole probe's.
            latency: minutes
                .first()
                .map(|m| m.crypto_service)
                .unwrap_or_default(),
            outcomes,
        }
    }
}

/// Everything the soak measured.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Date, command, machine.
    #[serde(flatten)]
    pub header: SoakHeader,
    /// Load averages after the run.
    pub load_average_after: String,
    /// Wall time, cluster start to report.
    pub elapsed_secs: f64,
    /// Minutes of paced load.
    pub minutes: u64,
    /// Connections of the load generator.
    pub workers: usize,
    /// The saturation probe (absent with `--soak-rate`).
    pub probe: Option<Probe>,
    /// Crypto requests/s offered during the soak.
    pub target_rps: f64,
    /// Admin requests/s offered.
    pub admin_per_second: f64,
    /// Requests sent, by kind.
    pub sent: BTreeMap<&'static str, u64>,
    /// One row per minute.
    pub per_minute: Vec<MinuteSummary>,
    /// Crypto outcomes over the whole soak.
    pub crypto_outcomes: Outcomes,
    /// Admin outcomes over the whole soak.
    pub admin_outcomes: Outcomes,
    /// RSS readings and growth per process.
    pub memory: Vec<Series>,
    /// A few error answers, verbatim.
    pub error_samples: Vec<String>,
    /// Target: no 5xx (crypto and admin).
    pub no_server_errors: bool,
    /// Target: every instance's growth below [`RSS_GROWTH_LIMIT_PERCENT`].
    pub rss_growth_ok: bool,
    /// File name of the plot.
    pub plot: String,
}

impl SoakReport {
    /// Assembles the report from the soak's run.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        header: SoakHeader,
        options: &SoakOptions,
        probe: Option<Probe>,
        target_rps: f64,
        span: Duration,
        load: LoadResult,
        mut memory: Vec<Series>,
        elapsed: Duration,
    ) -> SoakReport {
        let whole_minutes = minutes_in(span);
        let per_minute: Vec<MinuteSummary> = load
            .recorder
            .summarize(|minute| {
                let begin = MINUTE.as_secs_f64() * minute as f64;
                (span.as_secs_f64() - begin).clamp(0.0, MINUTE.as_secs_f64())
            })
            .into_iter()
            .take(whole_minutes)
            .collect();
        let (mut crypto_outcomes, mut admin_outcomes) = (Outcomes::default(), Outcomes::default());
        for minute in &per_minute {
            crypto_outcomes.merge(&minute.crypto_outcomes);
            admin_outcomes.merge(&minute.admin_outcomes);
        }
        for series in &mut memory {
            series.growth = memory::growth(&series.samples, WARMUP);
        }
        let rss_growth_ok = memory.iter().filter(|s| s.instance).all(|s| {
            s.growth
                .is_some_and(|growth| growth.percent < RSS_GROWTH_LIMIT_PERCENT)
        });
        let name = file_stem(&header.date, options.minutes);
        SoakReport {
            load_average_after: crate::machine::load_average(),
            elapsed_secs: elapsed.as_secs_f64(),
            minutes: options.minutes,
            workers: options.workers,
            probe,
            target_rps,
            admin_per_second: mix::ADMIN_PER_SECOND,
            sent: load.sent,
            no_server_errors: crypto_outcomes.server_errors + admin_outcomes.server_errors == 0,
            crypto_outcomes,
            admin_outcomes,
            per_minute,
            memory,
            error_samples: load.error_samples,
            rss_growth_ok,
            plot: format!("{name}.svg"),
            header,
        }
    }

    /// `<date>-soak`, or `<date>-soak-<N>min` for another length.
    pub fn file_stem(&self) -> String {
        file_stem(&self.header.date, self.minutes)
    }

    /// Writes `<stem>.json` and `<stem>.md`; returns the Markdown path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let stem = self.file_stem();
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(dir.join(format!("{stem}.json")), json + "\n")
            .map_err(io_err("writing the soak JSON"))?;
        let md_path = dir.join(format!("{stem}.md"));
        std::fs::write(&md_path, super::report_md::markdown(self))
            .map_err(io_err("writing the soak Markdown"))?;
        Ok(md_path)
    }

    /// The target check, one line each, for the terminal and the report.
    pub fn verdict(&self) -> Vec<String> {
        let errors = self.crypto_outcomes.server_errors + self.admin_outcomes.server_errors;
        let mut lines = vec![format!(
            "0 5xx: {} ({errors} 5xx; other non-2xx {}, 429 {}, batch item errors {}, \
             transport errors {})",
            pass(self.no_server_errors),
            self.crypto_outcomes.other_status + self.admin_outcomes.other_status,
            self.crypto_outcomes.too_many_requests + self.admin_outcomes.too_many_requests,
            self.crypto_outcomes.batch_item_errors,
            self.crypto_outcomes.transport + self.admin_outcomes.transport,
        )];
        let growths: Vec<String> = self
            .memory
            .iter()
            .filter(|s| s.instance)
            .map(|s| match s.growth {
                Some(g) => format!(
                    "{} {:+.1} % ({:.1} → {:.1} MiB{})",
                    s.name,
                    g.percent,
                    mib(g.baseline.rss_kib),
                    mib(g.end.rss_kib),
                    if g.after_warmup { "" } else { ", from start" }
                ),
                None => format!("{} no readings", s.name),
            })
            .collect();
        lines.push(format!(
            "RSS growth < {RSS_GROWTH_LIMIT_PERCENT:.0} % per instance: {} ({})",
            pass(self.rss_growth_ok),
            growths.join("; ")
        ));
        lines.push(self.schedule_line());
        lines
    }

    /// Not a target, but what the latency figures mean: whether the cluster and the client
    /// together kept the constant-rate schedule, judged per minute by the median lateness
    /// (p50 from the due time − p50 from the send).
    fn schedule_line(&self) -> String {
        let late: Vec<String> = self
            .per_minute
            .iter()
            .filter(|m| m.crypto.p50_ms - m.crypto_service.p50_ms > SCHEDULE_SLACK_MS)
            .map(|m| {
                format!(
                    "minute {} (p50 {:.1} ms from due, {:.1} ms from send)",
                    m.minute, m.crypto.p50_ms, m.crypto_service.p50_ms
                )
            })
            .collect();
        if late.is_empty() {
            format!(
                "schedule (not a target): kept, median lateness ≤ {SCHEDULE_SLACK_MS:.0} ms in \
                 every minute"
            )
        } else {
            format!(
                "schedule (not a target): FELL BEHIND in {}: the cluster and the load generator \
                 together could not sustain the rate on this machine then; the latency from the \
                 due time includes that backlog",
                late.join(", ")
            )
        }
    }
}

fn file_stem(date: &str, minutes: u64) -> String {
    if minutes == DEFAULT_MINUTES {
        format!("{date}-soak")
    } else {
        format!("{date}-soak-{minutes}min")
    }
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// KiB → MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn only_the_default_length_gets_the_plain_name() {
        assert_eq!(file_stem("2026-12-02", 10), "2026-12-02-soak");
        assert_eq!(file_stem("2026-12-02", 2), "2026-12-02-soak-2min");
    }
}
