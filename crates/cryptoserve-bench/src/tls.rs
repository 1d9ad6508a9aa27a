//! The `tls` setup: what TLS costs the embedded server, measured against itself in one run.
//!
//! Two embedded servers run side by side from the same binary, one plain and one serving TLS
//! (a `cryptoserve tls dev-cert` certificate, no client certificates), each prepared like
//! every CryptoServe setup (context, raised limits). Then:
//!
//! 1. encrypt 256 B on kept-alive connections, as clients run: [`ROUNDS`] rounds, each
//!    measuring plain and TLS at both concurrencies with the same wrk settings as every
//!    other setup, the order flipped every round so neither side always runs second. The
//!    target: TLS ÷ plain ≥ [`KEEP_ALIVE_TARGET`].
//! 2. `/health/live` on a new connection per request, plain and TLS, two ways: `new_conn_*`
//!    is wrk with `Connection: close` (wrk resumes TLS sessions, so these are mostly
//!    abbreviated handshakes), `handshake_*` is [`crate::handshakes`] with resumption off (a
//!    full handshake per request). `/health/live` keeps the request itself cheap, so the rate
//!    is the rate of new connections.

use std::path::Path;

use crate::error::{io_err, BenchError, Result};
use crate::handshakes::{self, ConnectRun};
use crate::procstat::Sampler;
use crate::runner::{self, Plan, ScenarioResult, SetupResult};
use crate::scenario::{Scenario, CONCURRENCIES, ENCRYPT_256};
use crate::setup::{self, Running, SetupInputs, SetupKind};
use crate::wrk::RequestSpec;

/// Encrypt 256 B over TLS (the plain runs keep the name [`ENCRYPT_256`]).
pub const ENCRYPT_256_TLS: &str = "encrypt_256_tls";
/// `/health/live`, wrk, `Connection: close`, plain HTTP.
pub const NEW_CONN_LIVE: &str = "new_conn_live";
/// The same over TLS (wrk resumes sessions).
pub const NEW_CONN_LIVE_TLS: &str = "new_conn_live_tls";
/// `/health/live`, a new connection per request from [`crate::handshakes`], plain HTTP.
pub const HANDSHAKE_LIVE: &str = "handshake_live";
/// The same over TLS: a full handshake per request.
pub const HANDSHAKE_LIVE_TLS: &str = "handshake_live_tls";
/// Rounds of alternating plain and TLS encrypt runs.
pub const ROUNDS: u32 = 3;
/// Target for encrypt 256 B over TLS ÷ plain HTTP on kept-alive connections.
pub const KEEP_ALIVE_TARGET: f64 = 0.85;

/// One of the two servers with what it needs to be measured.
struct Side {
    running: Running,
    /// Scripts and bodies (tokens differ between the servers, so each has its own).
    dir: std::path::PathBuf,
    encrypt: Scenario,
}

/// Starts both servers, measures them and stops them.
pub fn measure(inputs: &SetupInputs, plan: &Plan, workdir: &Path) -> Result<SetupResult> {
    plan.check_stop()?;
    let plain = Side::start(inputs, &workdir.join("tls-plain"), false)?;
    let tls = Side::start(inputs, &workdir.join("tls-tls"), true)?;
    let mut results = Vec::new();
    for round in 1..=ROUNDS {
        for concurrency in CONCURRENCIES {
            let tls_first = round % 2 == 0;
            let mut pair = Vec::with_capacity(2);
            for side in if tls_first {
                [&tls, &plain]
            } else {
                [&plain, &tls]
            } {
                plan.check_stop()?;
                let name = side.name(ENCRYPT_256, ENCRYPT_256_TLS);
                eprintln!("  tls {name} round {round} c={concurrency}");
                let mut result = runner::measure(
                    &side.running.target(),
                    plan,
                    &side.dir,
                    &side.encrypt,
                    concurrency,
                )?;
                result.scenario = name;
                result.round = Some(round);
                pair.push(result);
            }
            results.extend(with_plain_ratio(pair));
        }
    }
    for concurrency in CONCURRENCIES {
        let mut pair = Vec::with_capacity(2);
        for side in [&plain, &tls] {
            plan.check_stop()?;
            let scenario = side.new_connection_scenario();
            eprintln!("  tls {} c={concurrency}", scenario.name);
            pair.push(runner::measure(
                &side.running.target(),
                plan,
                &side.dir,
                &scenario,
                concurrency,
            )?);
        }
        results.extend(with_plain_ratio(pair));
        let mut pair = Vec::with_capacity(2);
        for side in [&plain, &tls] {
            plan.check_stop()?;
            pair.push(side.measure_handshakes(plan, concurrency)?);
        }
        results.extend(with_plain_ratio(pair));
    }
    for side in [&plain, &tls] {
        if !side.running.is_guard_alive() {
            return Err(BenchError::Server(
                "a server of the tls setup died during the run".into(),
            ));
        }
    }
    let encrypt_saturation_rps = results
        .iter()
        .filter(|r| r.scenario == ENCRYPT_256)
        .map(|r| r.wrk.requests_per_sec)
        .fold(0.0, f64::max);
    Ok(SetupResult {
        setup: SetupKind::Tls,
        description: SetupKind::Tls.description(),
        version: None,
        results,
        encrypt_saturation_rps,
        sweep: Vec::new(),
    })
}

impl Side {
    fn start(inputs: &SetupInputs, dir: &Path, tls: bool) -> Result<Side> {
        std::fs::create_dir_all(dir).map_err(io_err("creating the tls setup work dir"))?;
        let running = setup::start_embedded(SetupKind::Tls, inputs, tls)?;
        let (_, scenarios) = runner::prepare_cryptoserve(&running, dir)?;
        let encrypt = scenarios
            .into_iter()
            .find(|s| s.name == ENCRYPT_256)
            .ok_or_else(|| BenchError::Server("no encrypt_256 scenario".into()))?;
        Ok(Side {
            running,
            dir: dir.to_path_buf(),
            encrypt,
        })
    }

    fn is_tls(&self) -> bool {
        self.running.tls.is_some()
    }

    fn name(&self, plain: &'static str, tls: &'static str) -> &'static str {
        if self.is_tls() {
            tls
        } else {
            plain
        }
    }

    /// `GET /health/live` with `Connection: close`, for wrk.
    fn new_connection_scenario(&self) -> Scenario {
        Scenario {
            name: self.name(NEW_CONN_LIVE, NEW_CONN_LIVE_TLS),
            description: "GET /health/live, Connection: close (wrk)",
            request: RequestSpec {
                method: "GET",
                path: "/health/live".to_owned(),
                body_file: None,
                headers: vec![("Connection", "close".to_owned())],
            },
        }
    }

    /// A warm-up run, then a measured one with `/proc` sampling, as `runner::measure` does
    /// for wrk.
    fn measure_handshakes(&self, plan: &Plan, concurrency: u32) -> Result<ScenarioResult> {
        let name = self.name(HANDSHAKE_LIVE, HANDSHAKE_LIVE_TLS);
        eprintln!("  tls {name} c={concurrency}");
        let ca_cert = self
            .running
            .tls
            .as_ref()
            .map(|trust| trust.ca_cert.as_path());
        let mut spec = ConnectRun {
            url: format!("{}/health/live", self.running.url),
            ca_cert,
            threads: plan.threads,
            connections: concurrency,
            duration: plan.warmup,
        };
        handshakes::run(&spec)?;
        spec.duration = plan.duration;
        let sampler = Sampler::start(&self.running.watch);
        let result = handshakes::run(&spec)?;
        let usage = sampler.finish();
        let thousands = (result.requests as f64 / 1000.0).max(f64::MIN_POSITIVE);
        Ok(ScenarioResult {
            scenario: name,
            concurrency,
            wrk: result,
            max_rss_mib_per_instance: usage.max_server_rss_kib as f64 / 1024.0,
            server_cpu_secs_per_1k: usage.server_cpu_secs / thousands,
            auxiliary_cpu_secs_per_1k: usage.auxiliary_cpu_secs / thousands,
            redis_commands_per_request: None,
            redis_round_trips_per_request: None,
            ratio_to_live: 0.0,
            round: None,
            ratio_to_plain: None,
        })
    }
}

/// A plain run and its TLS counterpart (in either order), with "÷ plain" filled in.
fn with_plain_ratio(mut pair: Vec<ScenarioResult>) -> Vec<ScenarioResult> {
    let plain_rps = pair
        .iter()
        .find(|r| !is_tls_scenario(r.scenario))
        .map(|r| r.wrk.requests_per_sec)
        .unwrap_or(0.0);
    for result in &mut pair {
        result.ratio_to_plain = (plain_rps > 0.0).then(|| result.wrk.requests_per_sec / plain_rps);
    }
    pair
}

fn is_tls_scenario(name: &str) -> bool {
    name.ends_with("_tls")
}

/// Kept-alive encrypt 256 B over TLS ÷ plain at `concurrency`, over all rounds (total
/// requests ÷ total measured time on each side), and each round's own ratio.
pub fn keep_alive_ratio(setup: &SetupResult, concurrency: u32) -> Option<(f64, Vec<f64>)> {
    let rate = |name: &str| {
        let runs = setup
            .results
            .iter()
            .filter(|r| r.scenario == name && r.concurrency == concurrency);
        let (requests, secs) = runs.fold((0u64, 0.0), |(n, s), r| {
            (n + r.wrk.requests, s + r.wrk.duration_secs)
        });
        (secs > 0.0).then(|| requests as f64 / secs)
    };
    let overall = rate(ENCRYPT_256_TLS)? / rate(ENCRYPT_256)?;
    let rounds = setup
        .results
        .iter()
        .filter(|r| r.scenario == ENCRYPT_256_TLS && r.concurrency == concurrency)
        .filter_map(|r| r.ratio_to_plain)
        .collect();
    Some((overall, rounds))
}

/// The new-connection figures, "TLS 1 234/s (plain 5 678/s)", per concurrency.
pub fn new_connection_rates(setup: &SetupResult, tls: &str, plain: &str) -> String {
    let rate = |name: &str, c: u32| {
        setup
            .results
            .iter()
            .find(|r| r.scenario == name && r.concurrency == c)
            .map(|r| r.wrk.requests_per_sec)
    };
    let parts: Vec<String> = CONCURRENCIES
        .iter()
        .filter_map(|&c| {
            Some(format!(
                "{:.0}/s at c={c} (plain {:.0}/s)",
                rate(tls, c)?,
                rate(plain, c)?
            ))
        })
        .collect();
    if parts.is_empty() {
        "not run".to_owned()
    } else {
        parts.join(", ")
    }
}
