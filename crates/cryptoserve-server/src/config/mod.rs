//! Configuration: built-in defaults → optional `cryptoserve.toml` → environment.
//!
//! Every setting has exactly one environment name, listed in [`env::ENVIRONMENT`] and in
//! `docs/configuration.md`. The names from the scaling guide (`DATABASE_URL`, `REDIS_URL`,
//! `JWT_SECRET_KEY`, `HKDF_SALT`, `DB_POOL_*`) work as written; everything else is
//! `CRYPTOSERVE_*`.
//!
//! - `env.rs`: the environment-name table and how lists are split.
//! - `settings.rs`: the typed [`Settings`] the rest of the server reads.
//! - `tls.rs`: the TLS switch and files, and how the main listener serves.
//! - `secrets.rs`: resolving master key / JWT secret / salt, including development defaults
//!   kept in the data directory.

pub mod env;
pub mod secrets;
pub mod settings;
pub mod tls;

pub use secrets::ResolvedSecrets;
pub use settings::{Environment, FailMode, LogFormat, Settings};
pub use tls::{TlsMode, TlsSwitch};

/// Why the configuration cannot be used. Messages name the setting and say how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or has a wrong type.
    #[error("configuration error: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is present but unusable.
    #[error("{name}: {problem}")]
    Invalid {
        /// The environment variable (or setting) name.
        name: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A secret is required in production but missing.
    #[error(
        "{name} is not set; production requires it. Generate values with `cryptoserve keygen` \
         and set the same {name} on every instance"
    )]
    MissingSecret {
        /// The environment variable name.
        name: &'static str,
    },
    /// Files in the data directory could not be read or written.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The path involved.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
