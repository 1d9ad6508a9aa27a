//! `cryptoserve-bench`: the load benchmark. Run it through `scripts/bench-load`, which builds
//! release binaries and installs wrk first. See `benches/README.md`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;

use cryptoserve_bench::floor;
use cryptoserve_bench::machine::{self, Machine};
use cryptoserve_bench::plot;
use cryptoserve_bench::report::Report;
use cryptoserve_bench::runner::{self, Plan};
use cryptoserve_bench::setup::{SetupInputs, SetupKind};
use cryptoserve_bench::soak::{self, SoakHeader, SoakOptions};
use cryptoserve_bench::targets;

/// `--only`'s name for the floor comparison.
const FLOOR: &str = "floor";

/// Load benchmark: embedded, Redis, 3-backend cluster (TLS on every hop) and TLS-vs-plain
/// setups (and an OpenBao dev server for the Transit comparison) driven by wrk on loopback.
#[derive(Debug, Parser)]
#[command(name = "cryptoserve-bench", version, about)]
struct Cli {
    /// Short runs (2 s, 1 s warm-up, fewer sweep steps): a smoke check, not a measurement.
    #[arg(long)]
    quick: bool,
    /// Measured seconds per scenario run [default: 8, or 2 with --quick].
    #[arg(long, value_name = "SECS")]
    duration: Option<u64>,
    /// The `cryptoserve` binary [default: target/production/cryptoserve, as scripts/bench-load
    /// builds it].
    #[arg(long)]
    server_binary: Option<PathBuf>,
    /// Repository root (nginx.scale.conf, benches/results) [default: current directory].
    #[arg(long, default_value = ".")]
    repo_root: PathBuf,
    /// Only these setups (comma-separated: embedded,redis,redis_unleased,openbao,cluster,tls),
    /// and `floor`: embedded, redis and redis_unleased against the floor server in
    /// alternating rounds [default: all, floor included].
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Rounds of the floor comparison (each: the floor and ours, one run each, per pair and
    /// concurrency).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    rounds: u32,
    /// The `cryptoserve-floor` binary [default: next to this binary].
    #[arg(long, value_name = "PATH")]
    floor_binary: Option<PathBuf>,
    /// OpenBao's `bao` for the openbao setup [default: the venv scripts/bench-load installs,
    /// then `bao` on PATH].
    #[arg(long, value_name = "PATH")]
    bao_binary: Option<PathBuf>,
    /// Run the soak instead of the setups: the cluster under a mixed load at half of its
    /// saturation, RSS per instance, 5xx and p99 per minute (benches/results/<date>-soak.md).
    #[arg(long, conflicts_with_all = ["only", "quick", "duration", "rounds"])]
    soak: bool,
    /// Minutes of paced load in the soak.
    #[arg(long, value_name = "N", default_value_t = 10, requires = "soak",
          value_parser = clap::value_parser!(u64).range(1..=1440))]
    soak_minutes: u64,
    /// Measured seconds of the soak's saturation probe.
    #[arg(long, value_name = "SECS", default_value_t = 20, requires = "soak",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    soak_probe_secs: u64,
    /// Fixed crypto rate for the soak, req/s, instead of half the probed saturation (skips
    /// the probe; to repeat a soak at the rate of an earlier one).
    #[arg(long, value_name = "REQ_PER_SEC", requires = "soak")]
    soak_rate: Option<f64>,
    /// Connections of the soak's load generator.
    #[arg(long, value_name = "N", default_value_t = 64, requires = "soak",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    soak_connections: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let repo_root = std::fs::canonicalize(&cli.repo_root).context("resolving --repo-root")?;
    let server_binary = cli
        .server_binary
        .clone()
        .unwrap_or_else(|| repo_root.join("target/production/cryptoserve"));
    let server_binary = std::fs::canonicalize(&server_binary).with_context(|| {
        format!(
            "{} not found; build it (scripts/bench-load does)",
            server_binary.display()
        )
    })?;
    let duration = cli.duration.unwrap_or(if cli.quick { 2 } else { 8 }).max(1);
    let plan = Plan {
        duration: Duration::from_secs(duration),
        warmup: Duration::from_secs(if cli.quick { 1 } else { 2 }),
        threads: 2,
        sweep_duration: Duration::from_secs(if cli.quick { 2 } else { duration.min(5) }),
        sweep_fractions: if cli.quick {
            vec![0.25, 0.5, 1.0, 1.5]
        } else {
            vec![0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5]
        },
        startups: 5,
        stop: stop_on_signal(),
    };
    let floor_binary = match cli.floor_binary.clone() {
        Some(path) => path,
        None => std::env::current_exe()
            .context("locating this binary")?
            .with_file_name("cryptoserve-floor"),
    };
    let inputs = SetupInputs {
        server_binary,
        repo_root: repo_root.clone(),
        bao_binary: cli.bao_binary.clone(),
        floor_binary,
    };
    let load_before = machine::load_average();
    let command = std::env::var("CRYPTOSERVE_BENCH_COMMAND")
        .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    if cli.soak {
        let options = SoakOptions {
            minutes: cli.soak_minutes,
            probe: Duration::from_secs(cli.soak_probe_secs),
            rate: cli.soak_rate,
            workers: usize::try_from(cli.soak_connections).unwrap_or(64),
        };
        let header = SoakHeader {
            date: started_at.format("%Y-%m-%d").to_string(),
            started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command,
            machine: Machine::read(&repo_root),
            load_average_before: load_before,
        };
        let report = soak::run(&inputs, &options, header, plan.stop).context("the soak")?;
        let path = soak::write(&report, &repo_root.join("benches/results"))?;
        eprintln!("wrote {}", path.display());
        for line in report.verdict() {
            eprintln!("soak check: {line}");
        }
        return Ok(());
    }
    let (selected, with_floor) = selected_setups(&cli.only)?;
    let workdir = tempfile::Builder::new()
        .prefix("cryptoserve-bench-run-")
        .tempdir()
        .context("creating the work dir")?;

    let mut setups = Vec::new();
    for kind in selected {
        eprintln!("setup {}", kind.name());
        let sweep = matches!(kind, SetupKind::Embedded | SetupKind::Cluster);
        let result = runner::measure_setup(kind, &inputs, &plan, workdir.path(), sweep)
            .with_context(|| format!("the {} setup", kind.name()))?;
        setups.push(result);
    }
    let floor = if with_floor {
        eprintln!(
            "floor: embedded, redis and redis_unleased against the floor, {} rounds",
            cli.rounds
        );
        Some(
            floor::compare::measure(&inputs, &plan, workdir.path(), cli.rounds)
                .context("the floor comparison")?,
        )
    } else {
        None
    };
    eprintln!("start to ready");
    let startup = runner::start_to_ready(&inputs, &plan).context("start-to-ready timing")?;

    let date = started_at.format("%Y-%m-%d").to_string();
    let results_dir = repo_root.join("benches/results");
    std::fs::create_dir_all(&results_dir).context("creating benches/results")?;
    let plot_name = format!("{date}-latency.svg");
    plot::latency_vs_throughput(&results_dir.join(&plot_name), &setups)?;
    let report = Report {
        date,
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command,
        machine: Machine::read(&repo_root),
        load_average_before: load_before,
        load_average_after: machine::load_average(),
        quick: cli.quick,
        duration_secs: duration,
        warmup_secs: plan.warmup.as_secs(),
        wrk_threads: plan.threads,
        elapsed_secs: started.elapsed().as_secs_f64(),
        setups,
        floor,
        startup,
        plot: plot_name,
    };
    report.write(&results_dir)?;
    eprintln!(
        "wrote {}/{}.{{md,json}} in {:.0} s",
        results_dir.display(),
        report.date,
        report.elapsed_secs
    );
    for check in targets::checks::checks(&report) {
        eprintln!(
            "target: {}: {} ({})",
            check.target,
            check.verdict.label(),
            check.this_run
        );
    }
    Ok(())
}

/// The setups `--only` names, in run order (all when it names none), and whether it names
/// the floor comparison (`floor`, also part of a run without `--only`); an unknown name is
/// an error rather than a silently shorter run.
fn selected_setups(only: &[String]) -> anyhow::Result<(Vec<SetupKind>, bool)> {
    if let Some(unknown) = only
        .iter()
        .find(|name| *name != FLOOR && SetupKind::from_name(name).is_none())
    {
        let known: Vec<&str> = SetupKind::ALL.iter().map(|kind| kind.name()).collect();
        anyhow::bail!(
            "--only: unknown setup `{unknown}` (known: {}, {FLOOR})",
            known.join(", ")
        );
    }
    let setups = SetupKind::ALL
        .into_iter()
        .filter(|kind| only.is_empty() || only.iter().any(|name| name == kind.name()))
        .collect();
    Ok((
        setups,
        only.is_empty() || only.iter().any(|name| name == FLOOR),
    ))
}

/// A flag set by Ctrl-C or SIGTERM. The runner checks it before every wrk run and returns an
/// error, so every process the benchmark started is stopped by its `Drop`.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let Ok(mut terminate) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            eprintln!("stopping: finishing the current run, then stopping every process");
            flag.store(true, Ordering::Relaxed);
        });
    });
    stop
}
