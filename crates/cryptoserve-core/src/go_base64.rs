//! Standard base64 that accepts and refuses exactly what Go's
//! `base64.StdEncoding.DecodeString` does, so `vault:` ciphertext that Vault would read, we
//! read, and what Vault refuses we refuse with the same message.
//!
//! Go's rules: the standard alphabet (`+` and `/`) only; `\r` and `\n` are ignored anywhere;
//! padding is required (after removing newlines the length is a multiple of 4); unused
//! trailing bits in the last quantum need not be zero (`aGVsbG9=` is "hello"); any other byte,
//! spaces included, is refused. The error names the offending byte's offset in the *original*
//! input, computed with Go's own arithmetic (one quirk kept on purpose: for a missing-padding
//! input Go reports the position the incomplete quantum would start at if it held no newlines).
//!
//! Validation is a hand-written pass that mirrors Go's `decodeQuantum` (it is what yields the
//! offsets); the bytes are then decoded by the `base64` crate from the input without newlines.

use std::borrow::Cow;

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Standard alphabet, padding required on decode and written on encode, trailing bits
/// tolerated: Go's `StdEncoding` once newlines are gone.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Why a text is not Go-compatible base64: the offset, in the original input, of the byte Go
/// would blame. Its message is Go's `CorruptInputError` text, which Vault passes to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal base64 data at input byte {offset}")]
pub struct Base64Error {
    /// Byte offset into the original input (newlines included), as Go computes it.
    pub offset: usize,
}

/// Encodes with the standard alphabet and padding, as Go's `StdEncoding.EncodeToString`.
pub fn encode(bytes: &[u8]) -> String {
    GO_STD.encode(bytes)
}

/// Decodes as Go's `StdEncoding.DecodeString`. Never panics.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let input = text.as_bytes();
    // Fast path, the hot one: the engine refuses newlines, and on input without them it
    // accepts exactly what Go accepts (the property test below holds the two together), so
    // its success needs no walk of our own. Only input with newlines, or a failure, pays for
    // the walk that finds Go's offset.
    if let Ok(bytes) = GO_STD.decode(input) {
        return Ok(bytes);
    }
    let has_newlines = input.iter().any(|&b| is_newline(b));
    if let Some(offset) = go_error_offset(input) {
        return Err(Base64Error { offset });
    }
    let without_newlines: Cow<'_, [u8]> = if has_newlines {
        Cow::Owned(input.iter().copied().filter(|&b| !is_newline(b)).collect())
    } else {
        Cow::Borrowed(input)
    };
    // The validation pass accepts exactly what the engine accepts once newlines are removed (a
    // property test holds the two together), so this error is not expected; it is still an
    // error, never a panic.
    GO_STD
        .decode(without_newlines)
        .map_err(|_| Base64Error { offset: 0 })
}

fn is_newline(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

fn is_alphabet(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/'
}

/// Walks the input quantum by quantum exactly as Go's `decodeQuantum` does and returns the
/// offset Go would report, or `None` if Go would accept the input.
fn go_error_offset(src: &[u8]) -> Option<usize> {
    let len = src.len();
    let skip_newlines = |mut at: usize| {
        while src.get(at).copied().is_some_and(is_newline) {
            at += 1;
        }
        at
    };
    let mut si = 0;
    while si < len {
        // `j` counts the alphabet characters of the current quantum.
        let mut j = 0;
        while j < 4 {
            let Some(&byte) = src.get(si) else {
                // Input ended inside a quantum: fine only between quanta.
                return if j == 0 { None } else { Some(si - j) };
            };
            si += 1;
            if is_alphabet(byte) {
                j += 1;
                continue;
            }
            if is_newline(byte) {
                continue;
            }
            if byte != b'=' || j < 2 {
                return Some(si - 1);
            }
            if j == 2 {
                // A second '=' must follow, newlines allowed in between.
                si = skip_newlines(si);
                match src.get(si) {
                    None => return Some(len),
                    Some(&b'=') => si += 1,
                    Some(_) => return Some(si - 1),
                }
            }
            // Padding ends the input; only newlines may follow.
            si = skip_newlines(si);
            return if si < len { Some(si) } else { None };
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn offset_of(text: &str) -> usize {
        decode(text).unwrap_err().offset
    }

    #[test]
    fn accepts_what_go_accepts() {
        for (text, expected) in [
            ("", &b""[..]),
            ("aGVsbG8=", b"hello"),
            ("aGVsbG9=", b"hello"),
            ("aGk=", b"hi"),
            ("aA==", b"h"),
            ("aB==", b"h"),
            ("aGVs\nbG8=", b"hello"),
            ("\r\naGVsbG8=\r\n", b"hello"),
            ("aG\n=\r=", b"h"),
            ("\n\n", b""),
            ("+/+/", &[0xfb, 0xff, 0xbf]),
        ] {
            assert_eq!(decode(text).unwrap(), expected, "{text:?}");
        }
    }

    #[test]
    fn refuses_with_gos_offsets() {
        for (text, offset) in [
            ("aGVsbG8", 4),
            ("-_-_", 0),
            (" aGVsbG8= ", 0),
            ("aGVsbG8= ", 8),
            ("!!!!", 0),
            ("a", 0),
            ("aG", 0),
            ("aGV", 0),
            ("aGVsb", 4),
            ("====", 0),
            ("a===", 1),
            ("aG=", 3),
            ("aG=\n", 4),
            ("aG=x", 2),
            ("aGk=aGk=", 4),
            ("aGk=\nx", 5),
            ("aGVs\nbG8", 5),
            ("aGVsb\nG8", 5),
            ("aGVs\u{e9}", 4),
            ("aGVs\tbG8=", 4),
        ] {
            assert_eq!(offset_of(text), offset, "{text:?}");
        }
        assert_eq!(
            decode("aGVsbG8").unwrap_err().to_string(),
            "illegal base64 data at input byte 4"
        );
    }

    #[test]
    fn encodes_with_padding() {
        assert_eq!(encode(b"hello"), "aGVsbG8=");
        assert_eq!(encode(b"h"), "aA==");
        assert_eq!(encode(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    proptest! {
        #[test]
        fn validation_and_engine_agree(input in "[A-Za-z0-9+/=\r\n _-]{0,24}") {
            let stripped: Vec<u8> = input.bytes().filter(|&b| !is_newline(b)).collect();
            prop_assert_eq!(
                go_error_offset(input.as_bytes()).is_none(),
                GO_STD.decode(&stripped).is_ok(),
                "{:?}", input
            );
        }

        #[test]
        fn error_offsets_are_inside_the_input_or_at_its_end(input in ".{0,40}") {
            if let Err(error) = decode(&input) {
                prop_assert!(error.offset <= input.len());
            }
        }
    }
}
