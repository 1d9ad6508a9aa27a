//! The soak report's Markdown: header, target check, per-minute table, memory per process,
//! requests by kind and error samples.

use std::fmt::Write as _;

use crate::setup::SetupKind;

use super::memory::{self, WARMUP};
use super::mix::{self, CRYPTO_WEIGHTS};
use super::report::{mib, SoakReport, DEFAULT_MINUTES};
use super::{LOAD_FRACTION, RSS_GROWTH_LIMIT_PERCENT};

/// The whole Markdown report.
pub fn markdown(report: &SoakReport) -> String {
    let mut md = String::new();
    let h = &report.header;
    let m = &h.machine;
    let _ = writeln!(md, "# Soak {}\n", h.date);
    if report.minutes != DEFAULT_MINUTES {
        let _ = writeln!(
            md,
            "**{}-minute run** (the soak is {DEFAULT_MINUTES} minutes; a shorter one checks the \
             setup, not the memory trend).\n",
            report.minutes
        );
    }
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| command | `{}` |", h.command);
    let _ = writeln!(md, "| date | {} (started {}) |", h.date, h.started_at);
    let _ = writeln!(md, "| commit | `{}` |", m.commit);
    let _ = writeln!(md, "| machine | {} ({}) |", m.hostname, m.kernel);
    let _ = writeln!(
        md,
        "| cores, CPU, memory | {}, {}, {} GiB |",
        m.cores, m.cpu_model, m.memory_gib
    );
    let _ = writeln!(
        md,
        "| load average (1/5/15 min) | before {}, after {} |",
        h.load_average_before, report.load_average_after
    );
    let _ = writeln!(md, "| setup | {} |", SetupKind::Cluster.description());
    let _ = writeln!(md, "| load | {} |", load_line(report));
    let _ = writeln!(md, "| mix | {} |", mix_line());
    let _ = writeln!(
        md,
        "| total time | {:.0} s (without the build) |\n",
        report.elapsed_secs
    );

    let _ = writeln!(md, "## Target check\n");
    for line in report.verdict() {
        let _ = writeln!(md, "- {line}");
    }
    let _ = writeln!(
        md,
        "\nDefinitions. *5xx*: answers with status 500–599 to any request, crypto or admin \
         (nginx's own 502/504 included). *RSS growth*: VmRSS of each CryptoServe instance, read \
         from `/proc` every {} s from the first paced request (so the start reading follows the \
         cluster start and the saturation probe); growth = (last reading − first reading at or after the end of \
         warm-up) ÷ that reading, warm-up being the first {} s of the soak (a run without a \
         reading between warm-up and the end measures from its first reading and says \"from \
         start\"). The limit is {RSS_GROWTH_LIMIT_PERCENT:.0} %. *Latency*: from the moment a \
         request was due on the constant-rate schedule to the end of its answer (includes \
         waiting for a free connection and up to ~1 ms of timer slack); *service* p99 is from \
         the moment it was sent. Requests are counted in the minute they were due.\n",
        memory::SAMPLE_EVERY.as_secs(),
        WARMUP.as_secs()
    );

    per_minute_table(&mut md, report);
    memory_table(&mut md, report);

    let _ = writeln!(md, "## Requests sent\n\n| kind | requests |\n|---|--:|");
    for (kind, count) in &report.sent {
        let _ = writeln!(md, "| {kind} | {count} |");
    }
    let c = &report.crypto_outcomes;
    let a = &report.admin_outcomes;
    let _ = writeln!(
        md,
        "\nOutcomes, crypto / admin: 2xx {} / {}, 5xx {} / {}, 429 {} / {}, other non-2xx {} / {}, \
         transport errors {} / {}, batch answers with an item error {}.\n",
        c.ok, a.ok, c.server_errors, a.server_errors, c.too_many_requests, a.too_many_requests,
        c.other_status, a.other_status, c.transport, a.transport, c.batch_item_errors
    );
    if !report.error_samples.is_empty() {
        let _ = writeln!(md, "Error samples (first few, verbatim):\n");
        for sample in &report.error_samples {
            let _ = writeln!(md, "- `{}`", sample.replace('`', "'"));
        }
        md.push('\n');
    }
    md
}

fn load_line(report: &SoakReport) -> String {
    let rate = match &report.probe {
        Some(probe) => format!(
            "{:.0} crypto req/s = {:.0} % of saturation {:.0} req/s (probe: {} s of the same \
             mix back to back after {} s unmeasured, p99 {:.2} ms, {} non-2xx)",
            report.target_rps,
            LOAD_FRACTION * 100.0,
            probe.saturation_rps,
            probe.secs,
            super::PROBE_WARMUP.as_secs(),
            probe.latency.p99_ms,
            probe.outcomes.total() - probe.outcomes.ok,
        ),
        None => format!(
            "{:.0} crypto req/s (fixed by `--soak-rate`)",
            report.target_rps
        ),
    };
    format!(
        "{rate}, plus {} admin req/s, for {} min; constant-rate client in the bench \
         (`crates/cryptoserve-bench/src/soak/`: reqwest over TLS through nginx, {} keep-alive \
         connections, admin token); rate limits raised to 10,000,000/min, burst 1,000,000",
        report.admin_per_second, report.minutes, report.workers
    )
}

fn mix_line() -> String {
    let crypto: Vec<String> = CRYPTO_WEIGHTS
        .iter()
        .map(|(kind, weight)| format!("{} {weight} %", kind.name()))
        .collect();
    format!(
        "crypto: {} (context `{}`, 256 B plaintexts, batches of {} items); admin, cycling every \
         {} s: list contexts ×5, get context ×5, usage ×5, rate limits ×2, create and delete a \
         context, rotate `{}` (so encrypts move to a new key version every cycle while decrypts \
         keep opening version 1)",
        crypto.join(", "),
        mix::CONTEXT,
        mix::BATCH_ITEMS,
        (mix::ADMIN_CYCLE.len() as f64 / mix::ADMIN_PER_SECOND) as u64,
        mix::CONTEXT
    )
}

fn per_minute_table(md: &mut String, report: &SoakReport) {
    let instances: Vec<_> = report.memory.iter().filter(|s| s.instance).collect();
    let _ = writeln!(md, "## Per minute\n");
    let mut head = concat!(
        "| min | offered req/s | achieved req/s | p50 ms | p99 ms | max ms | service p99 ms | admin p99 ms ",
        "| 5xx | other non-2xx | transport |"
    )
    .to_owned();
    let mut rule = "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|".to_owned();
    for series in &instances {
        let _ = write!(head, " {} RSS MiB |", series.name);
        rule.push_str("--:|");
    }
    let _ = writeln!(md, "{head}\n{rule}");
    if let Some(first) = instances.first().and_then(|s| s.samples.first()) {
        let mut row = format!("| start (t={:.0} s) | | | | | | | | | | |", first.at_secs);
        for series in &instances {
            let rss = series.samples.first().map_or(0.0, |s| mib(s.rss_kib));
            let _ = write!(row, " {rss:.1} |");
        }
        let _ = writeln!(md, "{row}");
    }
    for minute in &report.per_minute {
        let c = &minute.crypto_outcomes;
        let a = &minute.admin_outcomes;
        let mut row = format!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} | {:.1} | {} | {} | {} |",
            minute.minute,
            minute.requests_per_sec,
            minute.completed_per_sec,
            minute.crypto.p50_ms,
            minute.crypto.p99_ms,
            minute.crypto.max_ms,
            minute.crypto_service.p99_ms,
            minute.admin.p99_ms,
            c.server_errors + a.server_errors,
            c.other_status + c.too_many_requests + a.other_status + a.too_many_requests,
            c.transport + a.transport,
        );
        let at = 60.0 * minute.minute as f64;
        for series in &instances {
            let rss = memory::at(&series.samples, at).map_or(0.0, |s| mib(s.rss_kib));
            let _ = write!(row, " {rss:.1} |");
        }
        let _ = writeln!(md, "{row}");
    }
    let _ = writeln!(
        md,
        "\nRSS columns: the reading nearest the end of that minute. *Offered*: crypto and admin \
         requests due in the minute; *achieved*: answers that arrived in it (a falling-behind \
         client shows as achieved < offered and as latency from the due time).\n"
    );
}

fn memory_table(md: &mut String, report: &SoakReport) {
    let _ = writeln!(md, "## Memory per process\n");
    let _ = writeln!(
        md,
        "| process | start MiB | baseline MiB | end MiB | max MiB | growth | held to target |"
    );
    let _ = writeln!(md, "|---|--:|--:|--:|--:|--:|---|");
    for series in &report.memory {
        let start = series.samples.first().map_or(0.0, |s| mib(s.rss_kib));
        let max = series.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        let (baseline, end, growth) = match series.growth {
            Some(g) => (
                format!(
                    "{:.1} (t={:.0} s)",
                    mib(g.baseline.rss_kib),
                    g.baseline.at_secs
                ),
                format!("{:.1}", mib(g.end.rss_kib)),
                format!("{:+.1} %", g.percent),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {start:.1} | {baseline} | {end} | {:.1} | {growth} | {} |",
            series.name,
            mib(max),
            if series.instance { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        md,
        "\nnginx and postgres are summed over the master (postmaster) and its children (workers, \
         connection processes), so shared memory is counted once per process: read their trend, \
         not their size. Every reading is in the JSON.\n"
    );
}
