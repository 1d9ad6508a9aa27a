//! The report: `benches/results/<date>.json` (everything) and `<date>.md` (the tables).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::{io_err, Result};
use crate::floor::FloorResult;
use crate::machine::Machine;
use crate::runner::{SetupResult, StartupResult};
use crate::setup::SetupKind;
use crate::sweep::{CONNECTIONS, SATURATION_TOLERANCE};

/// One benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// RFC 3339 start time (UTC).
    pub started_at: String,
    /// The command as typed.
    pub command: String,
    /// Machine and commit.
    pub machine: Machine,
    /// Load averages (1/5/15 min) before and after the run.
    pub load_average_before: String,
    /// See `load_average_before`.
    pub load_average_after: String,
    /// `--quick` was given.
    pub quick: bool,
    /// Measured seconds per scenario run.
    pub duration_secs: u64,
    /// Warm-up seconds before each measured run.
    pub warmup_secs: u64,
    /// wrk threads.
    pub wrk_threads: u32,
    /// Wall time of the whole run (setups, sweeps, start-up timing; not the build).
    pub elapsed_secs: f64,
    /// Per setup.
    pub setups: Vec<SetupResult>,
    /// CryptoServe against the floor, when it ran.
    pub floor: Option<FloorResult>,
    /// Start-to-ready timing.
    pub startup: StartupResult,
    /// File name of the plot, next to the report.
    pub plot: String,
}

impl Report {
    /// Writes `<date>.json` and `<date>.md` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io_err("creating benches/results"))?;
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        let json_path = dir.join(format!("{}.json", self.date));
        std::fs::write(&json_path, json + "\n").map_err(io_err("writing the JSON report"))?;
        let md_path = dir.join(format!("{}.md", self.date));
        std::fs::write(&md_path, self.markdown()).map_err(io_err("writing the Markdown report"))
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# Load benchmark {}\n", self.date);
        if self.quick {
            let _ = writeln!(
                md,
                "**Quick run** (`--quick`: short durations, a smoke check; not for comparisons).\n"
            );
        }
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| command | `{}` |", self.command);
        let _ = writeln!(md, "| date | {} (started {}) |", self.date, self.started_at);
        let _ = writeln!(md, "| commit | `{}` |", m.commit);
        let _ = writeln!(md, "| machine | {} ({}) |", m.hostname, m.kernel);
        let _ = writeln!(md, "| cores | {} |", m.cores);
        let _ = writeln!(md, "| CPU | {} |", m.cpu_model);
        let _ = writeln!(md, "| memory | {} GiB |", m.memory_gib);
        let _ = writeln!(
            md,
            "| load average (1/5/15 min) | before {}, after {} |",
            self.load_average_before, self.load_average_after
        );
        let _ = writeln!(
            md,
            "| runs | {} s measured after {} s warm-up, `wrk -t{} -c<concurrency> --latency`, keep-alive |",
            self.duration_secs, self.warmup_secs, self.wrk_threads
        );
        let _ = writeln!(
            md,
            "| total time | {:.0} s (without the build) |",
            self.elapsed_secs
        );
        let _ = writeln!(
            md,
            "\nwrk runs on the same {} cores as the server, so every figure includes the load \
             generator's competition for CPU. Rate limits are raised to the API's maximum \
             (10,000,000/min, burst 1,000,000) so the limiter decides every request but refuses none. \
             The batch scenarios run with the limits switched off: at 100 items per request they \
             would exceed even that maximum within one run, so they measure the crypto path \
             without the limiter.\n",
            m.cores
        );
        crate::targets::write(self, &mut md);
        if let Some(floor) = &self.floor {
            crate::floor::report_md::write(floor, &mut md);
        }
        for setup in &self.setups {
            self.setup_section(&mut md, setup);
        }
        self.startup_section(&mut md);
        md
    }

    fn setup_section(&self, md: &mut String, setup: &SetupResult) {
        let _ = writeln!(md, "## {}: {}\n", setup.setup.name(), setup.description);
        if let Some(version) = &setup.version {
            let _ = writeln!(md, "Version: `{version}`.\n");
        }
        // The tls setup compares each run with its plain-HTTP counterpart, not with a ceiling.
        let per_plain = setup.setup == SetupKind::Tls;
        let _ = writeln!(
            md,
            "| scenario | conc | req/s | {} | p50 ms | p95 ms | p99 ms | max ms | errors | RSS MiB/inst | server CPU s/1k | aux CPU s/1k | Redis trips/req (cmds) |",
            if per_plain { "÷ plain" } else { "÷ live" }
        );
        let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for r in &setup.results {
            let l = &r.wrk.latency;
            let _ = writeln!(
                md,
                "| {}{} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {:.1} | {:.3} | {:.3} | {} |",
                r.scenario,
                r.round.map_or_else(String::new, |round| format!(" (round {round})")),
                r.concurrency,
                r.wrk.requests_per_sec,
                if per_plain {
                    r.ratio_to_plain.unwrap_or(0.0)
                } else {
                    r.ratio_to_live
                },
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                l.max_ms,
                r.wrk.errors.total(),
                r.max_rss_mib_per_instance,
                r.server_cpu_secs_per_1k,
                r.auxiliary_cpu_secs_per_1k,
                match (r.redis_round_trips_per_request, r.redis_commands_per_request) {
                    (Some(trips), Some(commands)) => format!("{trips:.2} ({commands:.1})"),
                    _ => "–".to_owned(),
                },
            );
        }
        md.push('\n');
        if setup.sweep.is_empty() {
            return;
        }
        let _ = writeln!(
            md,
            "Encrypt 256 B at constant offered rates (saturation {:.0} req/s, the best wrk rate \
             above): the bench's open-loop client on up to {CONNECTIONS} connections, latency \
             from each request's due time (see `crates/cryptoserve-bench/src/sweep.rs`; plot: \
             `{}`). A point whose achieved rate is more than {:.0} % below the offered one is \
             saturated: its latency would only measure the queue and is not given.\n",
            setup.encrypt_saturation_rps,
            self.plot,
            SATURATION_TOLERANCE * 100.0
        );
        let _ = writeln!(
            md,
            "| offered | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors |"
        );
        let _ = writeln!(md, "|--:|--:|--:|--:|--:|--:|--:|");
        for p in &setup.sweep {
            let latency = p.latency.map_or_else(
                || "saturated | – | – | –".to_owned(),
                |l| {
                    format!(
                        "{:.2} | {:.2} | {:.2} | {:.1}",
                        l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms
                    )
                },
            );
            let _ = writeln!(
                md,
                "| {:.0} % ({:.0}/s) | {:.0} | {latency} | {} |",
                p.fraction * 100.0,
                p.offered_rps,
                p.achieved_rps,
                p.errors()
            );
        }
        md.push('\n');
    }

    fn startup_section(&self, md: &mut String) {
        let summary = |values: &[f64]| -> String {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let all: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
            format!(
                "median {:.0} ms, max {:.0} ms ({})",
                sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
                sorted.last().copied().unwrap_or(0.0),
                all.join(", ")
            )
        };
        let _ = writeln!(md, "## Start to ready (embedded default, SQLite)\n");
        let _ = writeln!(
            md,
            "Spawn of `cryptoserve serve` → first 200 from `/health/ready` (polled every 2 ms).\n"
        );
        let _ = writeln!(
            md,
            "- fresh data dir (creates the database, migrates, generates secrets): {}",
            summary(&self.startup.fresh_data_dir_ms)
        );
        let _ = writeln!(
            md,
            "- existing data dir: {}",
            summary(&self.startup.existing_data_dir_ms)
        );
    }
}
