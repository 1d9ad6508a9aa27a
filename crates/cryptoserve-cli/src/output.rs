//! Printing results: aligned tables and key/value listings for people, one JSON document for
//! scripts. Everything goes through a locked, buffered stdout so a closed pipe is an error
//! (not a panic) and output is written in one piece.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::cli::Format;
use crate::error::{CliError, Result};

/// Writes `value` as one pretty-printed JSON document and a newline to stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out).map_err(CliError::io("writing to stdout"))?;
    out.flush().map_err(CliError::io("writing to stdout"))
}

/// Writes text to stdout as is.
pub fn text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::io("writing to stdout"))
}

/// A line for the person at the terminal, on stderr (a closed stderr is ignored).
pub fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Prints `value` as JSON, or as `render` makes it for people.
pub fn show<T: Serialize + ?Sized>(
    format: Format,
    value: &T,
    render: impl FnOnce(&T) -> String,
) -> Result<()> {
    match format {
        Format::Json => json(value),
        Format::Text => text(&render(value)),
    }
}

/// A table with a header row; columns are padded to their widest cell, two spaces apart.
#[derive(Debug)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Adds a row (as many cells as there are columns).
    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    /// The aligned text, one line per row.
    pub fn render(&self) -> String {
        align(&self.rows)
    }
}

/// `name  value` lines, the names padded to one width (a record shown on its own).
pub fn fields(pairs: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(name, value)| vec![(*name).to_owned(), value.clone()])
        .collect();
    align(&rows)
}

fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if index + 1 < row.len() {
                let pad = width - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A timestamp to the second, in UTC.
pub fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An optional timestamp, `-` when absent.
pub fn maybe_time(at: Option<&DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// `yes` / `no`.
pub fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell_without_trailing_spaces() {
        let mut table = Table::new(&["NAME", "VERSION"]);
        table.row(vec!["payments".into(), "3".into()]);
        table.row(vec!["é".into(), "12".into()]);
        assert_eq!(
            table.render(),
            "NAME      VERSION\npayments  3\né         12\n"
        );
        assert_eq!(
            fields(&[("name", "x".into()), ("algorithm", "y".into())]),
            "name       x\nalgorithm  y\n"
        );
    }
}
