//! `cryptoserve-cluster`: start a local cluster in the foreground (`up`), stop one by PID
//! (`down`), or show what runs (`status`). See docs/operations/local-cluster.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use cryptoserve_cluster::state::{stop_by_pid, ClusterState};
use cryptoserve_cluster::{Cluster, ClusterOptions};

/// Local CryptoServe cluster: PostgreSQL, Redis, N backends and nginx as plain processes.
#[derive(Debug, Parser)]
#[command(name = "cryptoserve-cluster", version, about)]
struct Cli {
    /// Where logs, data dirs and state.json live [default: <repo root>/target/cryptoserve-cluster].
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
    /// Repository root holding nginx.scale.conf [default: the checkout this was built from].
    #[arg(long, global = true, env = "CRYPTOSERVE_REPO_ROOT")]
    repo_root: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start everything (TLS on every hop, a development CA in <state dir>/tls), print the
    /// URLs, the CA and an admin token, run until Ctrl-C or SIGTERM.
    Up {
        /// Number of backends.
        #[arg(long, default_value_t = 3)]
        backends: usize,
        /// The `cryptoserve` binary [default: the one next to this executable].
        #[arg(long, env = "CRYPTOSERVE_BIN")]
        server_binary: Option<PathBuf>,
        /// nginx port [default: a free one].
        #[arg(long)]
        port: Option<u16>,
        /// CRYPTOSERVE_SHUTDOWN_DELAY for the backends, in seconds.
        #[arg(long, default_value_t = 2)]
        shutdown_delay: u32,
    },
    /// Stop the cluster recorded in the state dir (asks `up` first, then signals by PID).
    Down,
    /// Print the state file of the running cluster (https URLs, the CA, ops ports).
    Status,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRYPTOSERVE_CLUSTER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let repo_root = cli.repo_root.unwrap_or_else(default_repo_root);
    let state_dir = cli
        .state_dir
        .unwrap_or_else(|| repo_root.join("target").join("cryptoserve-cluster"));
    match cli.command {
        Command::Up {
            backends,
            server_binary,
            port,
            shutdown_delay,
        } => {
            let server_binary = match server_binary {
                Some(path) => path,
                None => sibling_server_binary()?,
            };
            up(ClusterOptions {
                backends,
                server_binary,
                repo_root,
                state_dir: Some(state_dir),
                nginx_port: port,
                shutdown_delay_secs: shutdown_delay,
                ..ClusterOptions::default()
            })
        }
        Command::Down => {
            for line in stop_by_pid(&state_dir, Duration::from_secs(60))? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Status => {
            match ClusterState::read(&state_dir)? {
                Some(state) if state.launcher_alive() => {
                    println!("{}", serde_json::to_string_pretty(&state)?);
                }
                Some(state) => println!(
                    "stale state file (launcher {} is gone); run `down` to clean up",
                    state.launcher_pid
                ),
                None => println!("no cluster recorded in {}", state_dir.display()),
            }
            Ok(())
        }
    }
}

fn up(options: ClusterOptions) -> anyhow::Result<()> {
    let backends = options.backends;
    eprintln!("starting PostgreSQL, Redis, {backends} backends and nginx ...");
    let cluster = Cluster::up(options).context("starting the cluster")?;
    let ca = cluster.ca_cert_path();
    println!("CryptoServe cluster is up ({backends} backends, TLS on every hop)");
    println!("  url          {}", cluster.url());
    println!("  ca           {}", ca.display());
    println!(
        "  try          curl --cacert {} {}/health/ready",
        ca.display(),
        cluster.url()
    );
    println!("  cs, clients  export CRYPTOSERVE_CACERT={}", ca.display());
    for backend in cluster.backends() {
        println!(
            "  backend {}    {}  ops {}  pid {}  log {}",
            backend.index(),
            backend.url(),
            backend.ops_url(),
            backend.pid().unwrap_or_default(),
            backend.log_path().display()
        );
    }
    println!(
        "  client cert  {} {} (backends require it: curl --cert/--key)",
        cluster.client_cert_path().display(),
        cluster.client_key_path().display()
    );
    println!("  admin token  {}", cluster.admin_token());
    println!("  access log   {}", cluster.nginx_access_log().display());
    println!(
        "  state        {}",
        cluster.state_dir().join("state.json").display()
    );
    println!("stop with Ctrl-C, or `scripts/cluster down` from another shell");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the signal runtime")?;
    let signal = runtime.block_on(wait_for_stop_signal())?;
    eprintln!("{signal}: stopping the cluster ...");
    cluster.down().context("stopping the cluster")?;
    eprintln!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM (what `down` sends) and names the signal.
async fn wait_for_stop_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => {
            result.context("waiting for Ctrl-C")?;
            Ok("SIGINT")
        }
        _ = terminate.recv() => Ok("SIGTERM"),
    }
}

/// The checkout this binary was built from (crates/cryptoserve-cluster/../..).
fn default_repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `scripts/cluster` builds `cryptoserve` and this binary into the same target dir.
fn sibling_server_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let candidate = exe
        .parent()
        .map(|dir| dir.join("cryptoserve"))
        .context("this executable has no parent dir")?;
    anyhow::ensure!(
        candidate.is_file(),
        "{} not found; build it (`cargo build -p cryptoserve-server`) or pass --server-binary",
        candidate.display()
    );
    Ok(candidate)
}
