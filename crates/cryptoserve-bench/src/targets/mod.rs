//! The report's "Targets" sections: first the targets against the floor (issue #17), each
//! checked PASS/FAIL ([`checks`], also printed at the end of a run), then the earlier load
//! issues' targets next to this run's figures, read by people rather than checked.

pub mod checks;

use std::fmt::Write as _;

use crate::report::Report;
use crate::runner::{ScenarioResult, SetupResult};
use crate::scenario::{CONCURRENCIES, ENCRYPT_256, TRANSIT_ENCRYPT_256};
use crate::setup::SetupKind;

/// Transit encrypt through CryptoServe ÷ native encrypt, same setup, same run.
pub const TRANSIT_TO_NATIVE_TARGET: f64 = 0.9;
/// Transit encrypt through CryptoServe ÷ OpenBao's Transit encrypt, same wrk settings.
pub const TRANSIT_TO_OPENBAO_TARGET: f64 = 6.0;

/// Appends both targets tables to `md`.
pub fn write(report: &Report, md: &mut String) {
    checks::write(report, md);
    let setup = |kind: SetupKind| report.setups.iter().find(|s| s.setup == kind);
    let encrypt_ratios = |kind: SetupKind| -> String {
        setup(kind).map_or_else(
            || "not run".to_owned(),
            |s| {
                let ratios: Vec<String> = s
                    .results
                    .iter()
                    .filter(|r| r.scenario == ENCRYPT_256)
                    .map(|r| format!("{:.2} at c={}", r.ratio_to_live, r.concurrency))
                    .collect();
                ratios.join(", ")
            },
        )
    };
    let _ = writeln!(md, "## Other targets against this run\n");
    let _ = writeln!(md, "| target | this run |\n|---|---|");
    let _ = writeln!(
        md,
        "| embedded: encrypt 256 B ≥ 0.60 × `/health/live` | {} |",
        encrypt_ratios(SetupKind::Embedded)
    );
    let trips = |kind: SetupKind| -> String {
        setup(kind)
            .map(|s| {
                s.results
                    .iter()
                    .filter(|r| r.scenario == ENCRYPT_256)
                    .filter_map(|r| {
                        r.redis_round_trips_per_request
                            .map(|n| format!("{n:.3} at c={}", r.concurrency))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "–".to_owned())
    };
    for (kind, label) in [
        (SetupKind::Redis, "leases on (default)"),
        (SetupKind::RedisUnleased, "leases off"),
    ] {
        let _ = writeln!(
            md,
            "| Redis, {label}: encrypt 256 B ≥ 0.45 × `/health/live`, at most one Redis round trip per request | {}; round trips/request {} |",
            encrypt_ratios(kind),
            trips(kind)
        );
    }
    let _ = writeln!(
        md,
        "| tls: encrypt 256 B over TLS ≥ {:.2} × plain HTTP, kept-alive connections, same run | {} |",
        crate::tls::KEEP_ALIVE_TARGET,
        setup(SetupKind::Tls).map_or_else(|| "not run".to_owned(), tls_keep_alive)
    );
    let _ = writeln!(
        md,
        "| tls: new connections per second (recorded, no target) | {} |",
        setup(SetupKind::Tls).map_or_else(|| "not run".to_owned(), tls_new_connections)
    );
    let _ = writeln!(
        md,
        "| Transit encrypt 256 B ≥ {TRANSIT_TO_NATIVE_TARGET:.1} × native encrypt 256 B (same setup, same run) | {} |",
        transit_to_native(&report.setups)
    );
    let _ = writeln!(
        md,
        "| Transit encrypt 256 B through CryptoServe ≥ {TRANSIT_TO_OPENBAO_TARGET:.0} × OpenBao's (same wrk settings, same run) | {} |",
        transit_to_openbao(&report.setups)
    );
    let slowest_start = report
        .startup
        .existing_data_dir_ms
        .iter()
        .chain(&report.startup.fresh_data_dir_ms)
        .copied()
        .fold(0.0, f64::max);
    let _ = writeln!(
        md,
        "| start to ready ≤ 300 ms on SQLite | slowest of {} starts: {slowest_start:.0} ms |\n",
        report.startup.existing_data_dir_ms.len() + report.startup.fresh_data_dir_ms.len()
    );
}

/// "0.91 at c=16 (rounds 0.90, 0.93, 0.91), …": TLS ÷ plain over all rounds, then each.
fn tls_keep_alive(setup: &SetupResult) -> String {
    let parts: Vec<String> = CONCURRENCIES
        .iter()
        .filter_map(|&c| {
            let (overall, rounds) = crate::tls::keep_alive_ratio(setup, c)?;
            let rounds: Vec<String> = rounds.iter().map(|r| format!("{r:.2}")).collect();
            Some(format!(
                "{overall:.2} at c={c} (rounds {})",
                rounds.join(", ")
            ))
        })
        .collect();
    if parts.is_empty() {
        "not run".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Full handshakes and wrk's `Connection: close` runs, TLS against plain.
fn tls_new_connections(setup: &SetupResult) -> String {
    use crate::tls::{HANDSHAKE_LIVE, HANDSHAKE_LIVE_TLS, NEW_CONN_LIVE, NEW_CONN_LIVE_TLS};
    format!(
        "full TLS handshakes (no resumption) {}; wrk `Connection: close` (TLS sessions resumed) {}",
        crate::tls::new_connection_rates(setup, HANDSHAKE_LIVE_TLS, HANDSHAKE_LIVE),
        crate::tls::new_connection_rates(setup, NEW_CONN_LIVE_TLS, NEW_CONN_LIVE)
    )
}

/// `scenario` at `concurrency` in `setup`, if it ran.
fn find<'a>(
    setup: &'a SetupResult,
    scenario: &str,
    concurrency: u32,
) -> Option<&'a ScenarioResult> {
    setup
        .results
        .iter()
        .find(|r| r.scenario == scenario && r.concurrency == concurrency)
}

/// "embedded 0.95 at c=16, 0.93 at c=64; redis …" for every CryptoServe setup that ran both.
pub fn transit_to_native(setups: &[SetupResult]) -> String {
    let parts: Vec<String> = setups
        .iter()
        .filter(|s| s.setup.is_cryptoserve())
        .filter_map(|s| {
            let ratios: Vec<String> = CONCURRENCIES
                .iter()
                .filter_map(|&c| {
                    let transit = find(s, TRANSIT_ENCRYPT_256, c)?.wrk.requests_per_sec;
                    let native = find(s, ENCRYPT_256, c)?.wrk.requests_per_sec;
                    (native > 0.0).then(|| format!("{:.2} at c={c}", transit / native))
                })
                .collect();
            (!ratios.is_empty()).then(|| format!("{} {}", s.setup.name(), ratios.join(", ")))
        })
        .collect();
    if parts.is_empty() {
        "not run".to_owned()
    } else {
        parts.join("; ")
    }
}

/// "embedded 7.1 at c=16 (40 000 ÷ 5 600 req/s), …" for the single-server CryptoServe setups.
pub fn transit_to_openbao(setups: &[SetupResult]) -> String {
    let Some(openbao) = setups.iter().find(|s| s.setup == SetupKind::OpenBao) else {
        return "OpenBao not run".to_owned();
    };
    let parts: Vec<String> = setups
        .iter()
        .filter(|s| matches!(s.setup, SetupKind::Embedded | SetupKind::Redis))
        .filter_map(|s| {
            let ratios: Vec<String> = CONCURRENCIES
                .iter()
                .filter_map(|&c| {
                    let ours = find(s, TRANSIT_ENCRYPT_256, c)?.wrk.requests_per_sec;
                    let theirs = find(openbao, TRANSIT_ENCRYPT_256, c)?.wrk.requests_per_sec;
                    (theirs > 0.0).then(|| {
                        format!(
                            "{:.1} at c={c} ({ours:.0} ÷ {theirs:.0} req/s)",
                            ours / theirs
                        )
                    })
                })
                .collect();
            (!ratios.is_empty()).then(|| format!("{} {}", s.setup.name(), ratios.join(", ")))
        })
        .collect();
    if parts.is_empty() {
        let alone: Vec<String> = openbao
            .results
            .iter()
            .filter(|r| r.scenario == TRANSIT_ENCRYPT_256)
            .map(|r| format!("{:.0} req/s at c={}", r.wrk.requests_per_sec, r.concurrency))
            .collect();
        format!(
            "no CryptoServe Transit figures; OpenBao alone: {}",
            alone.join(", ")
        )
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(kind: SetupKind, rates: &[(&'static str, u32, f64)]) -> SetupResult {
        SetupResult {
            setup: kind,
            description: kind.description(),
            version: None,
            results: rates
                .iter()
                .map(|&(scenario, concurrency, rate)| {
                    ScenarioResult::with_rate(scenario, concurrency, rate)
                })
                .collect(),
            encrypt_saturation_rps: 0.0,
            sweep: Vec::new(),
        }
    }

    #[test]
    fn transit_ratios_pair_runs_of_the_same_concurrency() {
        let setups = [
            setup(
                SetupKind::Embedded,
                &[
                    (ENCRYPT_256, 16, 40_000.0),
                    (TRANSIT_ENCRYPT_256, 16, 38_000.0),
                    (ENCRYPT_256, 64, 30_000.0),
                    (TRANSIT_ENCRYPT_256, 64, 30_000.0),
                ],
            ),
            setup(
                SetupKind::OpenBao,
                &[
                    (TRANSIT_ENCRYPT_256, 16, 5_000.0),
                    (TRANSIT_ENCRYPT_256, 64, 6_000.0),
                ],
            ),
        ];
        assert_eq!(
            transit_to_native(&setups),
            "embedded 0.95 at c=16, 1.00 at c=64"
        );
        assert_eq!(
            transit_to_openbao(&setups),
            "embedded 7.6 at c=16 (38000 ÷ 5000 req/s), 5.0 at c=64 (30000 ÷ 6000 req/s)"
        );
        assert_eq!(transit_to_openbao(&setups[..1]), "OpenBao not run");
        assert!(transit_to_openbao(&setups[1..]).starts_with("no CryptoServe Transit figures"));
    }
}
