//! Reading the expected checkpoint of `cs audit verify --checkpoint FILE|JSON`.
//!
//! Accepted: the checkpoint JSON itself (as `GET` from Redis or saved by hand), a
//! `cryptoserve::audit` log line (`{"kind":"checkpoint","checkpoint":{...}}`), or a file of
//! log lines, of which the last checkpoint line counts (the newest a shipper kept).

use cryptoserve_client::api::AuditCheckpoint;
use serde_json::Value;

use crate::error::{CliError, Result};

/// Parses `--checkpoint`: JSON when it starts with `{`, else the path of a file.
pub fn read_checkpoint(argument: &str) -> Result<AuditCheckpoint> {
    let text = if argument.trim_start().starts_with('{') {
        argument.to_owned()
    } else {
        std::fs::read_to_string(argument).map_err(CliError::io(format!("reading {argument}")))?
    };
    parse_checkpoint(&text).ok_or_else(|| {
        CliError::BadInput(format!(
            "no audit checkpoint in {}: expected {{\"sequence\", \"head_mac\", \"at\", \"mac\"}} \
             or a `cryptoserve::audit` checkpoint log line",
            if argument.trim_start().starts_with('{') {
                "the --checkpoint JSON"
            } else {
                argument
            }
        ))
    })
}

fn parse_checkpoint(text: &str) -> Option<AuditCheckpoint> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return from_value(value);
    }
    text.lines()
        .rev()
        .filter_map(|line| line.find('{').map(|start| &line[start..]))
        .filter_map(|json| serde_json::from_str::<Value>(json).ok())
        .find_map(from_value)
}

fn from_value(mut value: Value) -> Option<AuditCheckpoint> {
    if let Some(inner) = value.get_mut("checkpoint").map(Value::take) {
        return serde_json::from_value(inner).ok();
    }
    serde_json::from_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARE: &str =
        r#"{"sequence":7,"head_mac":"ab","at":"2026-12-01T10:00:00.000001Z","mac":"cd"}"#;

    #[test]
    fn bare_json_log_lines_and_logs_are_accepted() {
        let bare = parse_checkpoint(BARE).unwrap();
        assert_eq!(bare.sequence, 7);
        let line = format!(
            r#"{{"instance_id":"a","timestamp":"x","level":"INFO","target":"cryptoserve::audit","kind":"checkpoint","checkpoint":{BARE}}}"#
        );
        assert_eq!(parse_checkpoint(&line).unwrap(), bare);
        let newer = BARE.replace("\"sequence\":7", "\"sequence\":9");
        let log = format!(
            "{line}\n{{\"target\":\"cryptoserve::audit\",\"kind\":\"record\",\"record\":{{\"id\":8}}}}\n\
             {{\"kind\":\"checkpoint\",\"checkpoint\":{newer}}}\nplain text\n"
        );
        assert_eq!(parse_checkpoint(&log).unwrap().sequence, 9);
        assert!(parse_checkpoint("{\"sequence\":1}").is_none());
        assert!(parse_checkpoint("nothing here").is_none());
    }
}
