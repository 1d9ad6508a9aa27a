//! Printing audit events as self-contained JSON lines.
//!
//! The general formatter would flatten an audit row's fields into the event, where the row's
//! `target` would collide with the log line's own `target`. This layer prints audit events
//! itself instead: `{"timestamp", "level", "target": "cryptoserve::audit", "message", "kind",
//! "<kind>": {...}}`, one line per event, whatever the log format, through the same writer
//! (so JSON lines get the `instance_id` prefix like every other line). The general formatter
//! is told to skip these events ([`is_audit_event`]).

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::AUDIT_LOG_TARGET;

/// True for the events this layer prints (for the other layers' filters).
pub fn is_audit_event(metadata: &Metadata<'_>) -> bool {
    metadata.target() == AUDIT_LOG_TARGET
}

/// The layer; `W` is the log writer every other line goes through.
#[derive(Debug)]
pub struct AuditLineLayer<W> {
    writer: W,
}

impl<W> AuditLineLayer<W> {
    /// Prints audit events to `writer`.
    pub fn new(writer: W) -> Self {
        AuditLineLayer { writer }
    }
}

impl<S, W> Layer<S> for AuditLineLayer<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !is_audit_event(event.metadata()) {
            return;
        }
        let mut fields = AuditFields::default();
        event.record(&mut fields);
        let (Some(kind), Some(payload)) = (fields.kind, fields.payload) else {
            return;
        };
        let line = render(&kind, &payload, &chrono::Utc::now());
        // One `write` per line: the log thread treats each write as one whole line.
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

/// The JSON line for one audit event; `payload` is already JSON.
fn render(kind: &str, payload: &str, now: &chrono::DateTime<chrono::Utc>) -> String {
    let kind_json = serde_json::Value::String(kind.to_owned()).to_string();
    let mut line = String::with_capacity(payload.len() + 160);
    let _ = writeln!(
        line,
        "{{\"timestamp\":\"{}\",\"level\":\"INFO\",\"target\":\"{AUDIT_LOG_TARGET}\",\
         \"message\":\"audit {kind}\",\"kind\":{kind_json},{kind_json}:{payload}}}",
        now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        kind = kind.escape_default(),
    );
    line
}

#[derive(Default)]
struct AuditFields {
    kind: Option<String>,
    payload: Option<String>,
}

impl Visit for AuditFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "kind" => self.kind = Some(value.to_owned()),
            "payload" => self.payload = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_routed_by_target() {
        let now = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        let line = render("record", r#"{"id":7,"target":"orders"}"#, &now);
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["target"], "cryptoserve::audit");
        assert_eq!(value["kind"], "record");
        assert_eq!(value["record"]["target"], "orders");
        assert_eq!(value["timestamp"], "2023-11-14T22:13:20.000001Z");
    }
}
