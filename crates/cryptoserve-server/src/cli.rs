//! The command line: `serve`, `migrate`, `keygen`, `identity create`, `tls dev-cert`,
//! `config show`, `export`, `import`.
//!
//! Machine-usable output (tokens, generated secrets, configuration) goes to stdout; logs and
//! warnings go to stderr, so `TOKEN=$(cryptoserve identity create ...)` works.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// CryptoServe: encryption as a service.
#[derive(Debug, Parser)]
#[command(name = "cryptoserve", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Also `CRYPTOSERVE_CONFIG`.
    #[arg(long, global = true, env = "CRYPTOSERVE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides `CRYPTOSERVE_LISTEN`).
    #[arg(long, global = true)]
    pub listen: Option<SocketAddr>,
    /// Data directory for the development database and secrets (overrides
    /// `CRYPTOSERVE_DATA_DIR`).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (runs migrations first unless --no-migrate).
    Serve {
        /// Do not run database migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Run database migrations and exit.
    Migrate,
    /// Print fresh secrets (master key, JWT secret, HKDF salt) as environment lines.
    Keygen,
    /// Manage identities.
    Identity {
        /// Identity subcommand.
        #[command(subcommand)]
        command: IdentityCommand,
    },
    /// TLS helpers.
    Tls {
        /// TLS subcommand.
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// Write every piece of metadata (no keys) to a MAC-sealed backup file.
    Export(ExportArgs),
    /// Restore a backup file into an empty database (migrated first); see
    /// docs/operations/backup-restore.md. Exit 3: file refused; 4: database not empty.
    Import(ImportArgs),
    /// Inspect configuration.
    Config {
        /// Config subcommand.
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// `identity ...`
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create an identity and print its token (alone) on stdout.
    Create(CreateIdentityArgs),
}

/// `identity create` arguments.
#[derive(Debug, Args)]
pub struct CreateIdentityArgs {
    /// Label for the identity.
    #[arg(long)]
    pub name: String,
    /// `admin` or `service`.
    #[arg(long)]
    pub role: String,
    /// Comma-separated contexts the identity may use (`*` = all).
    #[arg(long, value_delimiter = ',')]
    pub contexts: Vec<String>,
    /// Lifetime of the identity and its token, in days (default 90).
    #[arg(long)]
    pub expires_in_days: Option<u32>,
}

/// `export` arguments.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// File to write (created mode 0600, replaced atomically); `-` for stdout.
    #[arg(long)]
    pub out: PathBuf,
}

/// `import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Backup file written by `cryptoserve export`; `-` for stdin.
    pub file: PathBuf,
    /// Add the file's rows to a database that already holds rows; rows present in both
    /// must be identical, else nothing is written.
    #[arg(long)]
    pub merge: bool,
}

/// `tls ...`
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a development CA, a server certificate and a client certificate (for mutual TLS)
    /// into a directory; prints the environment lines that use them. Not for production.
    DevCert(DevCertArgs),
}

/// `tls dev-cert` arguments.
#[derive(Debug, Args)]
pub struct DevCertArgs {
    /// Output directory; an existing `ca.crt`/`ca.key` there is reused.
    #[arg(long, default_value = "./data/tls")]
    pub out: PathBuf,
    /// Extra DNS name or IP address for the server certificate (repeatable). Always included:
    /// localhost, 127.0.0.1, ::1, cryptoserve-backend.
    #[arg(long = "host")]
    pub hosts: Vec<String>,
    /// Validity of the server and client certificates, in days.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Make a new CA even if the directory holds one.
    #[arg(long)]
    pub new_ca: bool,
}

/// `config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration with secrets redacted.
    Show,
}
