//! `cs`, the CryptoServe command line: the data commands (`encrypt`, `decrypt`, `rewrap`,
//! `datakey`), files of any size (`encrypt-file`, `decrypt-file`: envelope encryption with
//! the streaming format of `docs/file-format.md`), and the admin API (contexts, identities,
//! tokens, rate limits, audit, usage, status), all over [`cryptoserve_client`]. Documented
//! for users in `docs/cli.md`.
//!
//! It is a separate binary from the server's `cryptoserve` so that operators' machines need
//! not carry the server; the server's offline `cryptoserve identity create` bootstrap keeps
//! its meaning.
//!
//! ## Layout
//! - `main.rs`: parse, [`run`], print the error, exit with its code.
//! - `cli.rs`: global options and the data commands' arguments; `admin_args.rs`: the admin
//!   commands' arguments; `units.rs`: duration and size parsers.
//! - `connect.rs`: global options → [`cryptoserve_client::Client`], and stderr logging.
//! - `crypto.rs`: encrypt, decrypt, rewrap, datakey.
//! - `files.rs`: encrypt-file, decrypt-file (one server call each); `stream.rs`: the file
//!   format over `Read`/`Write` (no network); `io.rs`: stdin/stdout or files, output renamed
//!   into place only when complete; `progress.rs`: the progress bar on a terminal.
//! - `admin/`: one file per admin family, and `status`.
//! - `output.rs`: tables, key/value listings, JSON; `error.rs`: [`CliError`] and the exit
//!   codes.
#![forbid(unsafe_code)]

mod admin;
mod admin_args;
mod cli;
mod connect;
mod crypto;
mod error;
mod files;
mod io;
mod output;
mod progress;
pub mod stream;
mod units;

pub use cli::{Cli, Command, Format, Global};
pub use error::{CliError, Result};

use clap::CommandFactory;

/// Runs one command line to completion on a single-threaded runtime (the commands make one
/// call at a time; file streaming is plain blocking I/O).
pub fn run(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))?;
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> Result<()> {
    let Cli { global, command } = cli;
    if let Command::Completions { shell } = command {
        let mut out = std::io::stdout().lock();
        clap_complete::generate(shell, &mut Cli::command(), "cs", &mut out);
        return Ok(());
    }
    connect::init_logging(global.verbose);
    let client = connect::client(&global)?;
    let format = global.format;
    match &command {
        Command::Encrypt(args) => crypto::encrypt(&client, format, args).await,
        Command::Decrypt(args) => crypto::decrypt(&client, format, args).await,
        Command::Rewrap(args) => crypto::rewrap(&client, format, args).await,
        Command::Datakey(args) => crypto::datakey(&client, format, args).await,
        Command::EncryptFile(args) => files::encrypt_file(&client, format, args).await,
        Command::DecryptFile(args) => files::decrypt_file(&client, format, args).await,
        Command::Context(command) => admin::contexts::run(&client, format, command).await,
        Command::Identity(command) => admin::identities::run(&client, format, command).await,
        Command::Token(command) => admin::identities::run_token(&client, format, command).await,
        Command::RateLimit(command) => admin::rate_limits::run(&client, format, command).await,
        Command::Audit(command) => admin::audit::run(&client, format, command).await,
        Command::Usage(args) => admin::audit::usage(&client, format, args).await,
        Command::Status => admin::status::run(&client, format).await,
        Command::Completions { .. } => Ok(()),
    }
}

/// Prints `error` as one line on stderr (nothing for a closed stdout pipe) and returns its
/// exit code.
pub fn report(error: &CliError) -> u8 {
    if !error.is_broken_pipe() {
        output::note(&format!("error: {error}"));
    }
    error.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
