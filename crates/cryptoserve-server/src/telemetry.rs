//! Logging: JSON lines in production, human format in development, `RUST_LOG` filtering.
//!
//! Every JSON line carries `instance_id` (so lines from many instances can be told apart in
//! one pipeline): the writer below prefixes it to each formatted event. Log lines never carry
//! plaintext, ciphertext, keys or tokens: handlers do not log bodies, and the request line
//! logs route templates, not raw paths or query strings.
//!
//! Request threads only format: finished lines go through a channel to one writer thread
//! (`tracing-appender`), which tags them and writes them to stderr through a buffer flushed
//! whenever the channel runs dry. Under load that is one `write` per burst of lines instead
//! of one per request, and no request waits on a slow stderr consumer until 128k lines are
//! queued; then they wait rather than lose lines. [`LogGuard`] flushes on drop.
//!
//! Lines on the `cryptoserve::audit` target (the SIEM feed and audit checkpoints) are always
//! JSON, printed by `audit_log/layer.rs`, so a shipper can pick them out by `target`.

use std::io::{IsTerminal, Write};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer as _;
use tracing_subscriber::{fmt, EnvFilter};

use crate::audit_log::{is_audit_event, AuditLineLayer};
use crate::config::LogFormat;

/// Keeps the log writer thread alive; dropping it writes out every queued line. Hold it for
/// as long as the process logs (and drop it before `std::process::exit`).
#[derive(Debug)]
pub struct LogGuard {
    _writer: Option<WorkerGuard>,
}

/// Installs the global subscriber (once; later calls are ignored and return an inert guard).
/// Logs go to stderr so stdout stays clean for command output such as tokens.
pub fn init(format: LogFormat, instance_id: &str) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let sink = match format {
        LogFormat::Json => Sink::Tagged(InstanceTagged::new(instance_id)),
        LogFormat::Pretty => Sink::Plain,
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("cryptoserve-log")
        .finish(LineWriter {
            sink,
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()),
        });
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
                    .with_writer(writer)
                    .with_filter(not_audit()),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(writer)
                    .with_filter(not_audit()),
            )
            .try_init(),
    };
    if result.is_err() {
        return LogGuard { _writer: None };
    }
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "logging started");
    LogGuard {
        _writer: Some(guard),
    }
}

/// What the writer thread does to each line before buffering it.
#[derive(Debug)]
enum Sink {
    Tagged(InstanceTagged),
    Plain,
}

/// The writer thread's end: one formatted event per `write` call (the formatter renders an
/// event completely, then writes it once), buffered, flushed when the queue is empty.
#[derive(Debug)]
struct LineWriter {
    sink: Sink,
    out: std::io::BufWriter<std::io::Stderr>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.sink {
            Sink::Tagged(tagger) => tagger.write_tagged(&mut self.out, buf)?,
            Sink::Plain => self.out.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Puts `"instance_id":"..."` first in every JSON log line.
#[derive(Debug, Clone)]
pub struct InstanceTagged {
    prefix: Box<[u8]>,
}

impl InstanceTagged {
    /// A tagger for `instance_id`.
    pub fn new(instance_id: &str) -> Self {
        let id = serde_json::to_string(instance_id).unwrap_or_else(|_| "\"unknown\"".into());
        Self {
            prefix: format!("{{\"instance_id\":{id},").into_bytes().into(),
        }
    }

    /// Writes one formatted event to `out`, tagged when it is a JSON object.
    pub fn write_tagged(&self, out: &mut impl Write, line: &[u8]) -> std::io::Result<()> {
        match line.strip_prefix(b"{") {
            Some(rest) => {
                out.write_all(&self.prefix)?;
                out.write_all(rest)
            }
            None => out.write_all(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_get_the_instance_id_first() {
        let tagger = InstanceTagged::new("node-\"7\"");
        let mut line = Vec::new();
        tagger
            .write_tagged(&mut line, b"{\"level\":\"INFO\",\"message\":\"x\"}\n")
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["instance_id"], "node-\"7\"");
        assert_eq!(value["message"], "x");
        let mut plain = Vec::new();
        tagger.write_tagged(&mut plain, b"plain").unwrap();
        assert_eq!(plain, b"plain");
    }
}
