//! From the global options to a [`Client`]: flags are passed to the builder as explicit
//! settings, so they win over `CRYPTOSERVE_*` variables, which win over the profile file (the
//! client resolves those itself); and stderr logging of retries.

use cryptoserve_client::{Client, RetryPolicy};

use crate::cli::Global;
use crate::error::Result;

/// The client the options describe. Nothing is sent yet.
pub fn client(global: &Global) -> Result<Client> {
    let mut builder = Client::builder();
    if !global.addr.is_empty() {
        builder = builder.addresses(global.addr.iter().cloned());
    }
    if let Some(token) = &global.token {
        builder = builder.token(token.clone());
    }
    if let Some(path) = &global.token_file {
        builder = builder.token_file(path.clone());
    }
    if let Some(profile) = &global.profile {
        builder = builder.profile(profile.clone());
    }
    if let Some(path) = &global.cacert {
        builder = builder.ca_cert_file(path.clone());
    }
    if let Some(path) = &global.client_cert {
        builder = builder.client_cert_file(path.clone());
    }
    if let Some(path) = &global.client_key {
        builder = builder.client_key_file(path.clone());
    }
    if let Some(timeout) = global.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(waits) = global.max_rate_limit_waits {
        builder = builder.retry_policy(RetryPolicy {
            max_rate_limit_waits: waits,
            ..RetryPolicy::default()
        });
    }
    Ok(builder.build()?)
}

/// Logs the client's warnings (each retry, wait and failover, one line) to stderr; `-v` adds
/// the request spans, `-vv` everything. `RUST_LOG` overrides.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "cryptoserve_client=warn",
        1 => "cryptoserve_client=info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second initialisation (only possible in tests) is harmless; ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
