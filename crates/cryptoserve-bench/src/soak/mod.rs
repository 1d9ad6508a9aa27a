//! The soak (`cryptoserve-bench --soak`, issue #16): the cluster setup (three backends behind
//! nginx, PostgreSQL, Redis, TLS on every hop) under a mixed load at half of its saturation
//! for [`SoakOptions::minutes`], watching memory, errors and latency minute by minute.
//!
//! The run, in order ([`run`]):
//! 1. start [`SetupKind::Cluster`], create context [`mix::CONTEXT`], raise the rate-limit
//!    defaults to the API's maximum and wait until every backend applies them; encrypt the
//!    ciphertexts the decrypts will open;
//! 2. probe saturation: the crypto mix back to back on [`SoakOptions::workers`] connections,
//!    [`PROBE_WARMUP`] unmeasured, then [`SoakOptions::probe`] measured (skipped when
//!    `--soak-rate` fixes the rate);
//! 3. the soak: the crypto mix at [`LOAD_FRACTION`] of that rate, paced, plus the admin
//!    trickle, sampling RSS every few seconds;
//! 4. the report ([`SoakReport`]) with its target check: no 5xx, RSS growth below
//!    [`RSS_GROWTH_LIMIT_PERCENT`] per CryptoServe instance after warm-up.
//!
//! Files: `mix.rs` (what is sent), `pacing.rs` (when), `client.rs` (the workers),
//! `stats.rs` (per-minute latencies and outcomes), `memory.rs` (RSS and its growth),
//! `report.rs`, `report_md.rs` and `plot.rs` (`benches/results/<date>-soak.{md,json,svg}`).

// `client`, `mix`, `pacing` and `stats` are the constant-rate load generator, which the load
// benchmark's fixed-rate sweep (`crate::sweep`) uses too.
pub(crate) mod client;
mod memory;
pub(crate) mod mix;
pub(crate) mod pacing;
mod plot;
mod report;
mod report_md;
pub(crate) mod stats;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::{Api, TlsTrust};
use crate::error::{io_err, BenchError, Result};
use crate::setup::{Running, SetupInputs, SetupKind};

pub use report::{SoakHeader, SoakReport};

use client::Driver;
use memory::Tracked;
use pacing::Pace;

/// The soak runs at this fraction of the measured saturation.
pub const LOAD_FRACTION: f64 = 0.5;
/// Unmeasured closed-loop run before the probe.
pub const PROBE_WARMUP: Duration = Duration::from_secs(5);
/// Pause between the probe and the soak, for requests still queued to drain.
const SETTLE: Duration = Duration::from_secs(2);
/// The memory target: RSS growth per instance after warm-up stays below this.
pub const RSS_GROWTH_LIMIT_PERCENT: f64 = 10.0;

/// How long and how hard.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Minutes of paced load.
    pub minutes: u64,
    /// Measured seconds of the saturation probe.
    pub probe: Duration,
    /// A fixed crypto rate (req/s) instead of half the probe's.
    pub rate: Option<f64>,
    /// Connections (workers) the load generator uses.
    pub workers: usize,
}

/// Starts the cluster, probes, soaks, and returns the report (not yet written).
pub fn run(
    inputs: &SetupInputs,
    options: &SoakOptions,
    header: SoakHeader,
    stop: Arc<AtomicBool>,
) -> Result<SoakReport> {
    let started = Instant::now();
    eprintln!("soak: starting the cluster (3 backends, nginx, PostgreSQL, Redis)");
    let running = Running::start(SetupKind::Cluster, inputs)?;
    let ciphertexts = prepare(&running)?;
    let tracked = tracked_processes(&running);
    let ca = TlsTrust {
        ca_cert: running
            .tls
            .as_ref()
            .map(|trust| trust.ca_cert.clone())
            .ok_or_else(|| BenchError::Server("the cluster setup has no CA".into()))?,
        client_identity: None,
    };
    let driver = Arc::new(Driver::new(
        &running.url,
        &running.token,
        Some(&ca),
        mix::Traffic::Mix(mix::CryptoRequests::new(&ciphertexts)),
        options.workers,
        Arc::clone(&stop),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io_err("starting the soak client's runtime"))?;
    let span = Duration::from_secs(options.minutes.max(1) * 60);

    let (probe, target_rps) = match options.rate {
        Some(rate) => (None, rate),
        None => {
            eprintln!(
                "soak: saturation probe ({} s warm-up, {} s measured, {} connections)",
                PROBE_WARMUP.as_secs(),
                options.probe.as_secs(),
                options.workers
            );
            runtime.block_on(driver.closed(PROBE_WARMUP))?;
            let measured = runtime.block_on(driver.closed(options.probe))?;
            let probe = report::Probe::from_run(measured, options.probe);
            let target = probe.saturation_rps * LOAD_FRACTION;
            (Some(probe), target)
        }
    };
    let pace = Pace::per_second(target_rps)
        .ok_or_else(|| BenchError::Server(format!("soak: no usable rate ({target_rps} req/s)")))?;
    std::thread::sleep(SETTLE);
    eprintln!(
        "soak: {:.0} req/s of crypto + {} admin/s for {} min",
        pace.rate(),
        mix::ADMIN_PER_SECOND,
        options.minutes.max(1)
    );
    let (load, memory) = runtime.block_on(driver.paced(pace, span, &tracked))?;
    if !running.is_guard_alive() {
        return Err(BenchError::Server(
            "a backend of the cluster died during the soak".into(),
        ));
    }
    drop(runtime);
    drop(running);
    Ok(SoakReport::build(
        header,
        options,
        probe,
        pace.rate(),
        span,
        load,
        memory,
        started.elapsed(),
    ))
}

/// Context, raised limits on every backend, and [`mix::BATCH_ITEMS`] ciphertexts to decrypt.
fn prepare(running: &Running) -> Result<Vec<String>> {
    let api = Api::new(&running.token, running.tls.as_ref())?;
    api.create_context(&running.url, mix::CONTEXT)?;
    api.raise_rate_limits(&running.url)?;
    for backend in &running.backend_urls {
        api.wait_for_raised_limits(backend, mix::CONTEXT)?;
    }
    let plaintext = crate::scenario::plaintext(mix::PLAINTEXT_BYTES);
    (0..mix::BATCH_ITEMS)
        .map(|_| Ok(api.encrypt(&running.url, mix::CONTEXT, &plaintext)?.0))
        .collect()
}

/// The backends (held to the target), then nginx, Redis and PostgreSQL with their children.
fn tracked_processes(running: &Running) -> Vec<Tracked> {
    let backends = running
        .watch
        .servers
        .iter()
        .enumerate()
        .map(|(index, &pid)| Tracked {
            name: format!("backend-{index}"),
            pid,
            with_children: false,
            instance: true,
        });
    let auxiliary = running.named_auxiliary.iter().map(|&(name, pid)| Tracked {
        name: name.to_owned(),
        pid,
        // Redis has no children worth adding; nginx's workers and PostgreSQL's connection
        // processes are where their memory is.
        with_children: name != "redis",
        instance: false,
    });
    backends.chain(auxiliary).collect()
}

/// Writes the report's Markdown, JSON and SVG into `dir`; returns the Markdown path.
pub fn write(report: &SoakReport, dir: &Path) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(io_err("creating benches/results"))?;
    plot::draw(&dir.join(&report.plot), report)?;
    report.write(dir)
}

#[cfg(test)]
mod tests {
    use super::client::LoadResult;
    use super::memory::{Sample, Series};
    use super::stats::{Class, Outcome};
    use super::*;

    /// A 2-minute run with one 503 and flat memory, written as the real one would be.
    #[test]
    fn a_synthetic_run_writes_its_report_and_plot() {
        let mut load = LoadResult::default();
        for minute in 0..2 {
            for latency_us in 1..=1000 {
                let outcome = Outcome::Ok;
                load.recorder
                    .record(minute, Class::Crypto, latency_us * 2, latency_us, outcome);
            }
            load.recorder
                .record(minute, Class::Admin, 5_000, 4_000, Outcome::Ok);
        }
        load.recorder
            .record(1, Class::Crypto, 900, 800, Outcome::of_status(503, false));
        load.sent.insert("encrypt_256", 2001);
        let line = |name: &str, instance: bool, kib: [u64; 3]| Series {
            name: name.to_owned(),
            instance,
            samples: [0.0, 60.0, 120.0]
                .into_iter()
                .zip(kib)
                .map(|(at_secs, rss_kib)| Sample { at_secs, rss_kib })
                .collect(),
            growth: None,
        };
        let memory = vec![
            line("backend-0", true, [30_000, 32_000, 32_100]),
            line("postgres", false, [300_000, 320_000, 400_000]),
        ];
        let header = SoakHeader {
            date: "2026-12-02".into(),
            started_at: "2026-12-02T00:00:00Z".into(),
            command: "test".into(),
            machine: crate::machine::Machine {
                kernel: "k".into(),
                hostname: "h".into(),
                cores: 2,
                cpu_model: "c".into(),
                memory_gib: 1.0,
                commit: "abc".into(),
            },
            load_average_before: "0 0 0".into(),
        };
        let options = SoakOptions {
            minutes: 2,
            probe: Duration::from_secs(20),
            rate: Some(16.7),
            workers: 4,
        };
        let span = Duration::from_secs(120);
        let report = SoakReport::build(header, &options, None, 16.7, span, load, memory, span);
        assert!(!report.no_server_errors);
        assert!(report.rss_growth_ok, "postgres is not held to the target");
        assert_eq!(report.per_minute.len(), 2);
        assert!((report.per_minute[0].crypto.p99_ms - 1.98).abs() < 1e-9);

        let dir = tempfile::tempdir().unwrap();
        let md_path = write(&report, dir.path()).unwrap();
        assert!(md_path.ends_with("2026-12-02-soak-2min.md"));
        let md = std::fs::read_to_string(&md_path).unwrap();
        assert!(md.contains("0 5xx: FAIL (1 5xx"), "{md}");
        assert!(md.contains("RSS growth < 10 % per instance: PASS (backend-0 +0.3 %"));
        assert!(md.contains("schedule (not a target): kept"), "{md}");
        assert!(dir.path().join("2026-12-02-soak-2min.json").is_file());
        let svg = std::fs::read_to_string(dir.path().join("2026-12-02-soak-2min.svg")).unwrap();
        assert!(svg.contains("backend-0"));
    }
}
