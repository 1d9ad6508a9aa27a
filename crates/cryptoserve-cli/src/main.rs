//! The `cs` binary: parse the command line (clap exits 2 on a usage error), run it, and turn
//! the outcome into an exit code. Everything else is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cryptoserve_cli::Cli::parse();
    match cryptoserve_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => ExitCode::from(cryptoserve_cli::report(&error)),
    }
}
