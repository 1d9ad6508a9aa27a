//! Response bodies of the single-item hot routes, written without serde_json's escape scan.
//!
//! `serde_json` checks every byte of every string for characters to escape. The strings these
//! bodies carry are ciphertext text (`cs1:v…:` + base64url), standard base64 and algorithm
//! names: printable ASCII without `"` or `\` by construction, so the scan never finds anything,
//! yet it was the largest single cost of writing an encrypt response (about 5 % of the
//! request's user-space instructions). [`JsonObject`] copies such strings as they are and
//! escapes anything else with `serde_json`, so the output is always valid JSON and equal to
//! what `serde_json` writes for the same struct (tests below).

/// A flat JSON object under construction.
#[derive(Debug)]
pub struct JsonObject {
    buf: Vec<u8>,
    empty: bool,
}

impl JsonObject {
    /// An empty object with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(b'{');
        Self { buf, empty: true }
    }

    /// Adds `"key": "value"`. `key` must not need escaping (it is a field name of ours).
    pub fn string(mut self, key: &'static str, value: &str) -> Self {
        self.key(key);
        if needs_no_escape(value) {
            self.buf.push(b'"');
            self.buf.extend_from_slice(value.as_bytes());
            self.buf.push(b'"');
        } else {
            // Writing a &str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.buf, value);
        }
        self
    }

    /// Adds `"key": value`.
    pub fn number(mut self, key: &'static str, value: u64) -> Self {
        self.key(key);
        let mut digits = itoa::Buffer::new();
        self.buf.extend_from_slice(digits.format(value).as_bytes());
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        self.buf
    }

    fn key(&mut self, key: &'static str) {
        debug_assert!(needs_no_escape(key), "field names are plain ASCII");
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }
}

/// Printable ASCII other than `"` and `\`: what JSON takes inside quotes unchanged. (JSON
/// would also take non-ASCII unescaped; those strings simply take the `serde_json` path.)
pub(crate) fn needs_no_escape(text: &str) -> bool {
    // No early exit: a branch-free fold over the bytes compiles to vector code, where a
    // short-circuiting `all` checks one byte at a time.
    !text.bytes().fold(false, |bad, b| {
        bad | !(0x20..0x7f).contains(&b) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Sample<'a> {
        ciphertext: &'a str,
        key_version: u64,
        algorithm: &'a str,
    }

    fn both(ciphertext: &str, key_version: u64, algorithm: &str) -> (Vec<u8>, Vec<u8>) {
        let ours = JsonObject::with_capacity(16)
            .string("ciphertext", ciphertext)
            .number("key_version", key_version)
            .string("algorithm", algorithm)
            .finish();
        let serde = serde_json::to_vec(&Sample {
            ciphertext,
            key_version,
            algorithm,
        })
        .unwrap();
        (ours, serde)
    }

    #[test]
    fn plain_strings_are_copied_and_match_serde_json() {
        let (ours, serde) = both("cs1:v7:Q1MBAQ-_xyz", 7, "aes-256-gcm");
        assert_eq!(ours, serde);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            r#"{"ciphertext":"cs1:v7:Q1MBAQ-_xyz","key_version":7,"algorithm":"aes-256-gcm"}"#
        );
        let (ours, serde) = both("aGVsbG8+/w==", u64::MAX, "");
        assert_eq!(ours, serde);
    }

    #[test]
    fn strings_that_need_escaping_are_escaped_exactly_like_serde_json() {
        for text in [
            "quote \" here",
            "back\\slash",
            "new\nline",
            "tab\t",
            "\u{1}",
            "é ü 東京",
            "\u{7f}",
        ] {
            let (ours, serde) = both(text, 1, text);
            assert_eq!(ours, serde, "{text:?}");
            let parsed: serde_json::Value = serde_json::from_slice(&ours).unwrap();
            assert_eq!(parsed["ciphertext"], text);
        }
    }

    #[test]
    fn an_empty_object_is_valid() {
        assert_eq!(JsonObject::with_capacity(0).finish(), b"{}");
    }
}
