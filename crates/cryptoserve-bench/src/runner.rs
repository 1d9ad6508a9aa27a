//! Running the measurements: per setup, every scenario at every concurrency (warm-up, then a
//! measured run with `/proc` sampling), the constant-rate sweep (`crate::sweep`), and
//! start-to-ready timing.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::api::Api;
use crate::error::{io_err, BenchError, Result};
use crate::procstat::Sampler;
use crate::procstat::Watch;
use crate::redis_counters::RedisCounters;
use crate::scenario::{self, Scenario, CONCURRENCIES, CONTEXT, ENCRYPT_256};
use crate::server::EmbeddedServer;
use crate::setup::{Running, SetupInputs, SetupKind};
use crate::sweep::SweepPoint;
use crate::wrk::{self, WrkResult, WrkRun};

/// Pause before each warm-up and sweep step: a server may still be draining requests that
/// wrk abandoned when the previous run ended (a batch at c=64 queues seconds of work).
pub(crate) const SETTLE: Duration = Duration::from_millis(500);

/// How long and how hard to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Measured duration of each scenario run.
    pub duration: Duration,
    /// Unmeasured run before each measured one (same script, same concurrency).
    pub warmup: Duration,
    /// wrk threads (`-t`).
    pub threads: u32,
    /// Duration of each sweep step.
    pub sweep_duration: Duration,
    /// Sweep steps as fractions of the setup's encrypt-256 saturation rate.
    pub sweep_fractions: Vec<f64>,
    /// Starts timed for start-to-ready (each for a fresh and for an existing data dir).
    pub startups: usize,
    /// Set by Ctrl-C/SIGTERM; checked before every run.
    pub stop: Arc<AtomicBool>,
}

impl Plan {
    /// Fails with [`BenchError::Interrupted`] once Ctrl-C or SIGTERM arrived.
    pub(crate) fn check_stop(&self) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(BenchError::Interrupted);
        }
        Ok(())
    }
}

/// One scenario at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub scenario: &'static str,
    /// Open connections.
    pub concurrency: u32,
    /// wrk's figures.
    #[serde(flatten)]
    pub wrk: WrkResult,
    /// Largest VmRSS of any one server instance during the run, MiB.
    pub max_rss_mib_per_instance: f64,
    /// CPU seconds of all server instances per 1,000 requests.
    pub server_cpu_secs_per_1k: f64,
    /// CPU seconds of nginx, Redis and PostgreSQL per 1,000 requests (0 when none).
    pub auxiliary_cpu_secs_per_1k: f64,
    /// Redis commands per request (including those inside Lua scripts), when the setup has
    /// Redis.
    pub redis_commands_per_request: Option<f64>,
    /// Redis script calls (`EVALSHA`/`EVAL`) per request: Redis round trips per request.
    pub redis_round_trips_per_request: Option<f64>,
    /// This run's rps ÷ the ceiling's rps (`/health/live`; OpenBao's `/v1/sys/health`) at
    /// the same concurrency in the same setup; 0 in the `tls` setup, which has no ceiling run.
    pub ratio_to_live: f64,
    /// `tls` setup only: the round of alternating plain and TLS runs this run belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// `tls` setup only: this run's rps ÷ its plain-HTTP counterpart's (same concurrency and,
    /// for kept-alive runs, same round); 1 for the plain runs themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_to_plain: Option<f64>,
}

#[cfg(test)]
impl ScenarioResult {
    /// A run known only by its rate (every other figure zero or absent), for tests.
    pub fn with_rate(scenario: &'static str, concurrency: u32, requests_per_sec: f64) -> Self {
        ScenarioResult {
            scenario,
            concurrency,
            wrk: WrkResult {
                requests_per_sec,
                ..WrkResult::default()
            },
            max_rss_mib_per_instance: 0.0,
            server_cpu_secs_per_1k: 0.0,
            auxiliary_cpu_secs_per_1k: 0.0,
            redis_commands_per_request: None,
            redis_round_trips_per_request: None,
            ratio_to_live: 0.0,
            round: None,
            ratio_to_plain: None,
        }
    }
}

/// Where a measured run sends its load and what it watches meanwhile: a setup
/// ([`Running::target`]) or the floor.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Base URL wrk loads.
    pub url: &'a str,
    /// Processes whose RSS and CPU are sampled.
    pub watch: &'a Watch,
    /// The setup's Redis, whose commands are counted per request.
    pub redis_port: Option<u16>,
}

/// Everything measured in one setup.
#[derive(Debug, Clone, Serialize)]
pub struct SetupResult {
    /// Which setup.
    pub setup: SetupKind,
    /// What it is.
    pub description: &'static str,
    /// The server's version line, when it is not CryptoServe (OpenBao).
    pub version: Option<String>,
    /// Scenario runs, in run order.
    pub results: Vec<ScenarioResult>,
    /// Encrypt-256 saturation: the best rps of its two concurrencies.
    pub encrypt_saturation_rps: f64,
    /// Constant-rate sweep of encrypt 256 B (empty when not swept).
    pub sweep: Vec<SweepPoint>,
}

/// Start-to-ready of the embedded default, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct StartupResult {
    /// Spawn → first 200 from `/health/ready` with a fresh data dir (creates the SQLite
    /// database, runs migrations, generates development secrets).
    pub fresh_data_dir_ms: Vec<f64>,
    /// The same with a data dir a previous start created.
    pub existing_data_dir_ms: Vec<f64>,
}

/// Starts `kind`, prepares it, runs every scenario (and the sweep when `sweep`), stops it.
pub fn measure_setup(
    kind: SetupKind,
    inputs: &SetupInputs,
    plan: &Plan,
    workdir: &Path,
    sweep: bool,
) -> Result<SetupResult> {
    if kind == SetupKind::Tls {
        return crate::tls::measure(inputs, plan, workdir);
    }
    plan.check_stop()?;
    let dir = workdir.join(kind.name());
    std::fs::create_dir_all(&dir).map_err(io_err("creating the setup work dir"))?;
    let running = Running::start(kind, inputs)?;
    let (api, scenarios) = if kind.is_cryptoserve() {
        prepare_cryptoserve(&running, &dir)?
    } else {
        prepare_openbao(&running, &dir)?
    };

    let mut results = Vec::new();
    let mut limits_enabled = true;
    for scenario in scenarios.iter().filter(|s| kind.runs(s.name)) {
        let wanted = !scenario.name.starts_with("batch");
        if wanted != limits_enabled {
            switch_limits(&api, &running, wanted)?;
            limits_enabled = wanted;
        }
        for concurrency in CONCURRENCIES {
            plan.check_stop()?;
            eprintln!("  {} {} c={concurrency}", kind.name(), scenario.name);
            results.push(measure(
                &running.target(),
                plan,
                &dir,
                scenario,
                concurrency,
            )?);
        }
    }
    for concurrency in CONCURRENCIES {
        let live = results
            .iter()
            .find(|r| r.scenario == kind.ceiling_scenario() && r.concurrency == concurrency)
            .map(|r| r.wrk.requests_per_sec)
            .unwrap_or(0.0);
        for result in results.iter_mut().filter(|r| r.concurrency == concurrency) {
            result.ratio_to_live = if live > 0.0 {
                result.wrk.requests_per_sec / live
            } else {
                0.0
            };
        }
    }
    if !limits_enabled {
        switch_limits(&api, &running, true)?;
    }
    let encrypt_saturation_rps = results
        .iter()
        .filter(|r| r.scenario == ENCRYPT_256)
        .map(|r| r.wrk.requests_per_sec)
        .fold(0.0, f64::max);
    let encrypt = scenarios.iter().find(|s| s.name == ENCRYPT_256);
    let sweep = match (sweep, encrypt) {
        (true, Some(encrypt)) if encrypt_saturation_rps > 0.0 => {
            crate::sweep::run(&running, plan, encrypt, encrypt_saturation_rps)?
        }
        _ => Vec::new(),
    };
    if !running.is_guard_alive() {
        return Err(BenchError::Server(format!(
            "a server process of the {} setup died during the run",
            kind.name()
        )));
    }
    Ok(SetupResult {
        setup: kind,
        description: kind.description(),
        version: running.version.clone(),
        results,
        encrypt_saturation_rps,
        sweep,
    })
}

/// A context with raised limits, a ciphertext for decrypt, one Transit encrypt through the
/// same context (so a server without the Transit API fails here, with its answer), and the
/// CryptoServe scenarios.
pub(crate) fn prepare_cryptoserve(running: &Running, dir: &Path) -> Result<(Api, Vec<Scenario>)> {
    let api = Api::new(&running.token, running.tls.as_ref())?;
    api.create_context(&running.url, CONTEXT)?;
    api.raise_rate_limits(&running.url)?;
    for backend in &running.backend_urls {
        api.wait_for_raised_limits(backend, CONTEXT)?;
    }
    let plaintext = scenario::plaintext(256);
    let (ciphertext, _) = api.encrypt(&running.url, CONTEXT, &plaintext)?;
    Api::vault(&running.token, running.tls.as_ref())?.transit_encrypt(
        &running.url,
        CONTEXT,
        &plaintext,
    )?;
    let scenarios = scenario::all(dir, &running.token, &ciphertext)?;
    Ok((api, scenarios))
}

/// The Transit key (named like CryptoServe's context), one encrypt with it, and the OpenBao
/// scenarios.
fn prepare_openbao(running: &Running, dir: &Path) -> Result<(Api, Vec<Scenario>)> {
    let api = Api::vault(&running.token, None)?;
    api.create_transit_key(&running.url, CONTEXT)?;
    api.transit_encrypt(&running.url, CONTEXT, &scenario::plaintext(256))?;
    let scenarios = scenario::openbao(dir, &running.token, CONTEXT)?;
    Ok((api, scenarios))
}

/// One scenario at one concurrency: a warm-up run, then the measured run with `/proc`
/// sampling and Redis counters.
pub(crate) fn measure(
    target: &Target<'_>,
    plan: &Plan,
    dir: &Path,
    scenario: &Scenario,
    concurrency: u32,
) -> Result<ScenarioResult> {
    let script = dir.join(format!("{}.lua", scenario.name));
    wrk::write_script(&script, &scenario.request)?;
    let mut run = WrkRun {
        base_url: target.url.to_owned(),
        script,
        path: scenario.request.path.clone(),
        threads: plan.threads,
        connections: concurrency,
        duration: plan.warmup,
    };
    std::thread::sleep(SETTLE);
    wrk::run(&run, dir)?;
    run.duration = plan.duration;
    let redis_counters = || target.redis_port.and_then(crate::redis_counters::read);
    let redis_before = redis_counters();
    let sampler = Sampler::start(target.watch);
    let result = wrk::run(&run, dir)?;
    let usage = sampler.finish();
    let redis_after = redis_counters();
    let thousands = (result.requests as f64 / 1000.0).max(f64::MIN_POSITIVE);
    let per_request = |count: fn(&RedisCounters) -> u64| match (&redis_before, &redis_after) {
        (Some(before), Some(after)) if result.requests > 0 => {
            Some(count(after).saturating_sub(count(before)) as f64 / result.requests as f64)
        }
        _ => None,
    };
    let redis_commands_per_request = per_request(|c| c.commands);
    let redis_round_trips_per_request = per_request(|c| c.scripts);
    Ok(ScenarioResult {
        scenario: scenario.name,
        concurrency,
        wrk: result,
        max_rss_mib_per_instance: usage.max_server_rss_kib as f64 / 1024.0,
        server_cpu_secs_per_1k: usage.server_cpu_secs / thousands,
        auxiliary_cpu_secs_per_1k: usage.auxiliary_cpu_secs / thousands,
        redis_commands_per_request,
        redis_round_trips_per_request,
        ratio_to_live: 0.0,
        round: None,
        ratio_to_plain: None,
    })
}

/// Times `plan.startups` starts of the embedded default on fresh data dirs, then as many on
/// one existing data dir.
pub fn start_to_ready(inputs: &SetupInputs, plan: &Plan) -> Result<StartupResult> {
    let time_one = |data_dir: &Path| -> Result<f64> {
        plan.check_stop()?;
        let (server, ready_after) =
            EmbeddedServer::start(&inputs.server_binary, data_dir, &[], None)?;
        drop(server);
        Ok(ready_after.as_secs_f64() * 1000.0)
    };
    let mut fresh = Vec::new();
    for _ in 0..plan.startups {
        let dir = tempfile::tempdir().map_err(io_err("creating a temp data dir"))?;
        fresh.push(time_one(&dir.path().join("data"))?);
    }
    let dir = tempfile::tempdir().map_err(io_err("creating a temp data dir"))?;
    let data_dir = dir.path().join("data");
    time_one(&data_dir)?;
    let mut existing = Vec::new();
    for _ in 0..plan.startups {
        existing.push(time_one(&data_dir)?);
    }
    Ok(StartupResult {
        fresh_data_dir_ms: fresh,
        existing_data_dir_ms: existing,
    })
}

/// Turns the raised limits on or off and waits until every backend applies the change.
fn switch_limits(api: &Api, running: &Running, enabled: bool) -> Result<()> {
    api.set_rate_limits(&running.url, enabled)?;
    for backend in &running.backend_urls {
        api.wait_for_limits(backend, CONTEXT, enabled)?;
    }
    Ok(())
}
