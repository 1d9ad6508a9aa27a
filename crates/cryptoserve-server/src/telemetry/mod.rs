//! Logging: JSON lines in production, human format in development, `RUST_LOG` filtering.
//!
//! Every JSON line carries `instance_id` (so lines from many instances can be told apart in
//! one pipeline): the writer below prefixes it to each formatted event. Log lines never carry
//! plaintext, ciphertext, keys or tokens: handlers do not log bodies, and the request line
//! logs route templates, not raw paths or query strings.
//!
//! Request threads only format: finished lines go to one writer thread through the log pipe
//! (`pipe.rs`), which writes them to stderr in batches, one `write` per batch, and makes no
//! request wait on a slow stderr consumer until 8 MiB of lines are queued; then they wait
//! rather than lose lines. [`LogGuard`] writes out what is queued on drop. The per-request
//! access line is rendered without tracing's formatter (`access.rs`).
//!
//! Lines on the `cryptoserve::audit` target (the SIEM feed and audit checkpoints) are always
//! JSON, printed by `audit_log/layer.rs`, so a shipper can pick them out by `target`.

mod access;
mod pipe;

use std::io::IsTerminal;

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer as _;
use tracing_subscriber::{fmt, EnvFilter};

pub use access::{log as log_access, AccessRecord, ACCESS_LOG_TARGET};
pub use pipe::LogPipe;

use crate::audit_log::{is_audit_event, AuditLineLayer};
use crate::config::LogFormat;

/// Keeps the log writer thread alive; dropping it writes out every queued line. Hold it for
/// as long as the process logs (and drop it before `std::process::exit`).
#[derive(Debug)]
pub struct LogGuard {
    _writer: Option<pipe::PipeWriter>,
}

/// Installs the global subscriber (once; later calls are ignored and return an inert guard).
/// Logs go to stderr so stdout stays clean for command output such as tokens.
pub fn init(format: LogFormat, instance_id: &str) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let tag = matches!(format, LogFormat::Json).then_some(instance_id);
    let Ok((writer, guard)) = LogPipe::new(tag, std::io::stderr()) else {
        eprintln!("cryptoserve: cannot start the log writer thread; logging is off");
        return LogGuard { _writer: None };
    };
    // Audit rows and checkpoints are printed as JSON lines by their own layer, in both
    // formats, and skipped by the general one (see `audit_log/layer.rs`).
    let registry =
        registry.with(AuditLineLayer::new(writer.clone()).with_filter(filter_fn(is_audit_event)));
    let not_audit = || filter_fn(|metadata| !is_audit_event(metadata));
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(writer.clone())
                    .with_filter(not_audit()),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(writer.clone())
                    .with_filter(not_audit()),
            )
            .try_init(),
    };
    if result.is_err() {
        return LogGuard { _writer: None };
    }
    if matches!(format, LogFormat::Json) {
        access::install(writer);
    }
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "logging started");
    LogGuard {
        _writer: Some(guard),
    }
}
