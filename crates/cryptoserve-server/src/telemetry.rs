//! Logging: JSON lines in production, human format in development, `RUST_LOG` filtering.
//!
//! Every JSON line carries `instance_id` (so lines from many instances can be told apart in
//! one pipeline): the writer below prefixes it to each formatted event. Log lines never carry
//! plaintext, ciphertext, keys or tokens: handlers do not log bodies, and the request line
//! logs route templates, not raw paths or query strings.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber (once; later calls are ignored). Logs go to stderr so
/// stdout stays clean for command output such as tokens.
pub fn init(format: LogFormat, instance_id: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(InstanceTagged::new(instance_id)),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
    };
    if result.is_ok() {
        tracing::info!(version = env!("CARGO_PKG_VERSION"), "logging started");
    }
}

/// Writes JSON log lines to stderr with `"instance_id":"..."` as their first field.
#[derive(Debug, Clone)]
pub struct InstanceTagged {
    prefix: std::sync::Arc<[u8]>,
}

impl InstanceTagged {
    /// A writer tagging lines with `instance_id`.
    pub fn new(instance_id: &str) -> Self {
        let id = serde_json::to_string(instance_id).unwrap_or_else(|_| "\"unknown\"".into());
        Self {
            prefix: format!("{{\"instance_id\":{id},").into_bytes().into(),
        }
    }

    /// Rewrites one formatted event.
    pub fn tag(&self, line: &[u8]) -> Vec<u8> {
        match line.strip_prefix(b"{") {
            Some(rest) => {
                let mut out = Vec::with_capacity(self.prefix.len() + rest.len());
                out.extend_from_slice(&self.prefix);
                out.extend_from_slice(rest);
                out
            }
            None => line.to_vec(),
        }
    }
}

/// The per-event writer.
#[derive(Debug)]
pub struct TaggedLine {
    tagger: InstanceTagged,
}

impl Write for TaggedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one complete event per write.
        std::io::stderr().lock().write_all(&self.tagger.tag(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for InstanceTagged {
    type Writer = TaggedLine;

    fn make_writer(&'a self) -> Self::Writer {
        TaggedLine {
            tagger: self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_get_the_instance_id_first() {
        let tagger = InstanceTagged::new("node-\"7\"");
        let line = tagger.tag(b"{\"level\":\"INFO\",\"message\":\"x\"}\n");
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["instance_id"], "node-\"7\"");
        assert_eq!(value["message"], "x");
        assert_eq!(tagger.tag(b"plain"), b"plain");
    }
}
