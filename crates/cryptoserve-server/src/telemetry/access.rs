//! The access line, one per request, written straight into a reused per-thread buffer.
//!
//! In the JSON format the line is the one tracing's JSON formatter would print for
//! `info!(target: "cryptoserve::access", request_id, method, route, status, latency_ms,
//! identity, context, "request completed")`, made without it: no field visitors, no `fmt`
//! machinery, no allocation, and the timestamp's date and time formatted once per second per
//! thread. `RUST_LOG` still decides whether it is written (the target's callsite is asked).
//! In the development format the middleware logs it through tracing as before.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::pipe::LogPipe;

/// The target of the one line logged per request. Operators who rely on metrics can drop the
/// line without losing other events: `RUST_LOG=info,cryptoserve::access=off`.
pub const ACCESS_LOG_TARGET: &str = "cryptoserve::access";

/// Where JSON access lines go, and whether `RUST_LOG` lets them through (asked once, when
/// installed: the filter does not change while the process runs).
#[derive(Debug)]
struct JsonSink {
    pipe: LogPipe,
    enabled: bool,
}

static JSON_SINK: OnceLock<JsonSink> = OnceLock::new();

/// Routes JSON access lines to `pipe` (set once, by `telemetry::init` in the JSON format, after
/// the subscriber is installed).
pub(super) fn install(pipe: LogPipe) {
    let enabled = tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO);
    let _ = JSON_SINK.set(JsonSink { pipe, enabled });
}

/// One finished request, as logged.
#[derive(Debug)]
pub struct AccessRecord<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub identity: &'a str,
    pub context: &'a str,
}

/// Logs `record` unless `RUST_LOG` turned the access target off.
pub fn log(record: &AccessRecord<'_>) {
    match JSON_SINK.get() {
        Some(sink) if !sink.enabled => {}
        Some(sink) => LINE.with_borrow_mut(|line| {
            line.render(record, SystemTime::now());
            sink.pipe.append(&line.bytes);
        }),
        None => tracing::info!(
            target: ACCESS_LOG_TARGET,
            request_id = %record.request_id,
            method = %record.method,
            route = %record.route,
            status = record.status,
            latency_ms = record.latency.as_secs_f64() * 1000.0,
            identity = record.identity,
            context = record.context,
            "request completed"
        ),
    }
}

thread_local! {
    static LINE: RefCell<Line> = RefCell::new(Line::default());
}

/// A thread's line buffer and its cached `YYYY-MM-DDTHH:MM:SS` for one second.
#[derive(Debug, Default)]
struct Line {
    bytes: Vec<u8>,
    second: u64,
    date_time: String,
}

impl Line {
    fn render(&mut self, record: &AccessRecord<'_>, now: SystemTime) {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let second = since_epoch.as_secs();
        if second != self.second || self.date_time.is_empty() {
            self.second = second;
            self.date_time = i64::try_from(second)
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .unwrap_or_default()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
        }
        let out = &mut self.bytes;
        out.clear();
        out.extend_from_slice(b"{\"timestamp\":\"");
        out.extend_from_slice(self.date_time.as_bytes());
        out.push(b'.');
        push_padded(out, since_epoch.subsec_micros(), 6);
        out.push(b'Z');
        out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request completed\"");
        out.extend_from_slice(b",\"request_id\":");
        json_str(out, record.request_id);
        out.extend_from_slice(b",\"method\":");
        json_str(out, record.method);
        out.extend_from_slice(b",\"route\":");
        json_str(out, record.route);
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(itoa::Buffer::new().format(record.status).as_bytes());
        out.extend_from_slice(b",\"latency_ms\":");
        // Milliseconds with microsecond precision, as a JSON number.
        let micros = u64::try_from(record.latency.as_micros()).unwrap_or(u64::MAX);
        out.extend_from_slice(itoa::Buffer::new().format(micros / 1000).as_bytes());
        out.push(b'.');
        push_padded(out, (micros % 1000) as u32, 3);
        out.extend_from_slice(b",\"identity\":");
        json_str(out, record.identity);
        out.extend_from_slice(b",\"context\":");
        json_str(out, record.context);
        out.extend_from_slice(b",\"target\":\"");
        out.extend_from_slice(ACCESS_LOG_TARGET.as_bytes());
        out.extend_from_slice(b"\"}\n");
    }
}

/// The last `width` decimal digits of `value`, zero-padded.
fn push_padded(out: &mut Vec<u8>, value: u32, width: u32) {
    for place in (0..width).rev() {
        out.push(b'0' + (value / 10u32.pow(place) % 10) as u8);
    }
}

/// `text` as a JSON string: copied as is when nothing in it needs escaping (request ids,
/// methods, route templates, identity ids and context names normally), else by serde_json.
fn json_str(out: &mut Vec<u8>, text: &str) {
    // A branch-free fold (vector code) rather than a short-circuiting `all` (a byte at a time).
    let plain = !text.bytes().fold(false, |escape, b| {
        escape | (b < 0x20) | (b == b'"') | (b == b'\\') | (b == 0x7f)
    });
    if plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(record: &AccessRecord<'_>, now: SystemTime) -> serde_json::Value {
        let mut line = Line::default();
        line.render(record, now);
        assert_eq!(line.bytes.last(), Some(&b'\n'));
        assert_eq!(line.bytes.iter().filter(|b| **b == b'\n').count(), 1);
        serde_json::from_slice(&line.bytes).unwrap()
    }

    #[test]
    fn the_line_has_the_fields_of_the_tracing_line() {
        let now = UNIX_EPOCH + Duration::new(1_796_186_753, 363_983_123);
        let value = render(
            &AccessRecord {
                request_id: "abc-1",
                method: "POST",
                route: "/v1/transit/encrypt/{name}",
                status: 200,
                latency: Duration::from_micros(1_234),
                identity: "9e1e7625-9960-484f-9e0a-89a322b0ad47",
                context: "bench",
            },
            now,
        );
        assert_eq!(value["timestamp"], "2026-12-02T04:45:53.363983Z");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["message"], "request completed");
        assert_eq!(value["target"], ACCESS_LOG_TARGET);
        assert_eq!(value["request_id"], "abc-1");
        assert_eq!(value["method"], "POST");
        assert_eq!(value["route"], "/v1/transit/encrypt/{name}");
        assert_eq!(value["status"], 200);
        assert_eq!(value["latency_ms"], 1.234);
        assert_eq!(value["identity"], "9e1e7625-9960-484f-9e0a-89a322b0ad47");
        assert_eq!(value["context"], "bench");
    }

    #[test]
    fn strange_text_is_escaped_and_the_clock_moves_on() {
        let mut line = Line::default();
        let record = AccessRecord {
            request_id: "r",
            method: "GET",
            route: "unmatched",
            status: 404,
            latency: Duration::from_nanos(999),
            identity: "-",
            context: "a\"b\\c\nd\u{7f}é",
        };
        line.render(&record, UNIX_EPOCH + Duration::from_secs(59));
        let value: serde_json::Value = serde_json::from_slice(&line.bytes).unwrap();
        assert_eq!(value["context"], "a\"b\\c\nd\u{7f}é");
        assert_eq!(value["timestamp"], "1970-01-01T00:00:59.000000Z");
        assert_eq!(value["latency_ms"], 0.0);
        line.render(&record, UNIX_EPOCH + Duration::new(60, 5_000));
        let value: serde_json::Value = serde_json::from_slice(&line.bytes).unwrap();
        assert_eq!(value["timestamp"], "1970-01-01T00:01:00.000005Z");
    }
}
