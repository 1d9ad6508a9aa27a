//! The floor comparison's section of the Markdown report.

use std::fmt::Write as _;

use super::result::{FloorResult, Spread};

/// Appends the section to `md`.
pub fn write(floor: &FloorResult, md: &mut String) {
    let _ = writeln!(
        md,
        "## floor: ours ÷ the floor, same run, {} alternating rounds\n",
        floor.rounds
    );
    let _ = writeln!(
        md,
        "The floor (`cryptoserve-floor`) is actix-web with `GET /live` and `POST /encrypt` \
         (AES-256-GCM with `ring`, one key, a random nonce per request) and nothing else, \
         same workers and allocator as the server. Each round runs the floor's scenario and \
         ours one right after the other with the same wrk settings (the floor first in odd \
         rounds); a round's ratio divides those two adjacent runs. The floor's requests carry \
         the same body and headers as ours.\n"
    );
    let _ = writeln!(
        md,
        "| setup | ours | floor | conc | ours ÷ floor min / median / max | ours req/s by round | floor req/s by round | ours p99 ms (median) | ours RSS MiB (max) |"
    );
    let _ = writeln!(md, "|---|---|---|--:|--:|--:|--:|--:|--:|");
    for c in &floor.comparisons {
        let by_round = |pick: fn(&super::result::RoundPair) -> f64| {
            c.rounds
                .iter()
                .map(|pair| format!("{:.0}", pick(pair)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let p99: Vec<f64> = c.rounds.iter().map(|p| p.ours.wrk.latency.p99_ms).collect();
        let rss = c
            .rounds
            .iter()
            .map(|p| p.ours.max_rss_mib_per_instance)
            .fold(0.0, f64::max);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {rss:.1} |",
            c.setup.name(),
            c.ours,
            c.floor,
            c.concurrency,
            spread(c.ratio, 2),
            by_round(|p| p.ours.wrk.requests_per_sec),
            by_round(|p| p.floor.wrk.requests_per_sec),
            Spread::of(&p99).map_or_else(|| "–".to_owned(), |s| format!("{:.2}", s.median)),
        );
    }
    md.push('\n');
}

/// "0.84 / 0.87 / 0.90", or "–".
pub fn spread(spread: Option<Spread>, decimals: usize) -> String {
    spread.map_or_else(
        || "–".to_owned(),
        |s| {
            format!(
                "{:.d$} / {:.d$} / {:.d$}",
                s.min,
                s.median,
                s.max,
                d = decimals
            )
        },
    )
}
