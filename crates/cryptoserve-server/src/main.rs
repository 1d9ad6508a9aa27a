//! `cryptoserve`: parse the command line, load configuration, dispatch.

use clap::Parser;

use cryptoserve_server::cli::{Cli, Command, ConfigCommand, IdentityCommand, TlsCommand};
use cryptoserve_server::config::{secrets, Settings};
use cryptoserve_server::{backup, commands, telemetry};

/// mimalloc instead of glibc malloc: a request allocates and frees dozens of small buffers
/// across worker threads, and glibc's free lists and consolidation were over a tenth of the
/// server's CPU under load (see `benches/README.md`). Built with `no_thp`: mimalloc does not ask
/// for transparent huge pages, which on a host in THP `madvise` mode cost ~20 MiB of resident
/// memory per process for no measurable speed (set `MIMALLOC_ALLOW_THP=0` where THP is `always`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Keygen => return commands::keygen(),
        Command::Tls {
            command: TlsCommand::DevCert(args),
        } => {
            if let Err(error) = commands::tls_dev_cert(args) {
                eprintln!("cryptoserve: {error:#}");
                std::process::exit(1);
            }
            return Ok(());
        }
        _ => {}
    }
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("cryptoserve: {error}");
            std::process::exit(2);
        }
    };
    if let Some(listen) = cli.listen {
        settings.listen = listen;
    }
    if let Some(dir) = cli.data_dir {
        settings.data_dir = dir;
    }
    let log_guard = telemetry::init(settings.log_format(), &settings.instance_id());
    let result = match cli.command {
        Command::Serve { no_migrate } => {
            if let Err(error) = settings.tls_mode() {
                drop(log_guard);
                eprintln!("cryptoserve: {error}");
                std::process::exit(2);
            }
            match secrets::resolve(&settings) {
                Ok(resolved) => commands::print_warnings(&resolved.warnings),
                Err(error) => {
                    drop(log_guard);
                    eprintln!("cryptoserve: {error}");
                    std::process::exit(2);
                }
            }
            commands::serve(settings, !no_migrate).await
        }
        Command::Migrate => commands::migrate(settings).await,
        Command::Keygen | Command::Tls { .. } => Ok(()),
        Command::Identity {
            command: IdentityCommand::Create(args),
        } => commands::identity_create(settings, args).await,
        Command::Config {
            command: ConfigCommand::Show,
        } => commands::config_show(&settings),
        Command::Export(args) => backup::export(settings, &args.out).await,
        Command::Import(args) => backup::import(settings, &args.file, args.merge).await,
    };
    // Every queued log line is written before the process ends.
    drop(log_guard);
    if let Err(error) = &result {
        eprintln!("cryptoserve: {error:#}");
        std::process::exit(backup::exit_code(error));
    }
    Ok(())
}
