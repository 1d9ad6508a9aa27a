//! Parsers for the human-friendly values on the command line: durations (`30s`, `500ms`) and
//! sizes (`64K`, `1M`).

use std::time::Duration;

use cryptoserve_core::stream::ChunkSize;

/// `30`, `30s`, `500ms`, `2m`: a positive duration (plain numbers are seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = split_unit(text);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 500ms or 2m"))?;
    let duration = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => Duration::from_secs(value),
        "ms" => Duration::from_millis(value),
        "m" | "min" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        _ => return Err(format!("unknown unit in `{text}`: use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("the duration must be positive".into());
    }
    Ok(duration)
}

/// `65536`, `64K`, `64KiB`, `1M`: a chunk size in bytes (K and M are powers of 1024).
pub fn parse_chunk_size(text: &str) -> Result<ChunkSize, String> {
    let text = text.trim();
    let (number, unit) = split_unit(text);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 65536, 64K or 1M"))?;
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("unknown unit in `{text}`: use K or M")),
    };
    let bytes = u32::try_from(value.saturating_mul(multiplier))
        .map_err(|_| "the chunk size must be between 4K and 16M".to_owned())?;
    ChunkSize::new(bytes).map_err(|error| error.to_string())
}

/// Splits `64K` into `("64", "K")`.
fn split_unit(text: &str) -> (&str, &str) {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(digits)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations_and_sizes_parse_with_units() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_chunk_size("64K").unwrap().get(), 65536);
        assert_eq!(parse_chunk_size("1MiB").unwrap().get(), 1 << 20);
        assert_eq!(parse_chunk_size("4096").unwrap().get(), 4096);
        assert!(parse_chunk_size("1K").is_err());
        assert!(parse_chunk_size("17M").is_err());
        assert!(parse_chunk_size("99999999999M").is_err());
    }
}
