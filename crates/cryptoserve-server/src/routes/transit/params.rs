//! Request parameters as Vault reads them.
//!
//! Vault clients send the same fields in several shapes: hvac sends JSON with typed values,
//! the `bao`/`vault` CLI sends JSON with *every value as a string* and no `Content-Type`,
//! `write -f` sends the literal body `null`, and form-encoded bodies are accepted too. Vault
//! coerces strings to the field's type, ignores unknown fields with a warning, and decodes
//! base64 like Go's `StdEncoding` (padding required, newlines ignored). This module does the
//! same, so handlers see typed values and every refusal is a 400 with Vault's wording.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use cryptoserve_core::go_base64;

use super::reply::bad_request;

/// A parameter that cannot be used: its 400 message (a batch item reports it as its
/// `error`; a single request answers it as `{"errors": [...]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl From<Refusal> for HttpResponse {
    fn from(refusal: Refusal) -> Self {
        bad_request(refusal.0)
    }
}

/// The parsed body of one request (or one `batch_input` item).
#[derive(Debug, Default, Clone)]
pub struct Params {
    fields: Map<String, Value>,
}

impl Params {
    /// Parses a request body: JSON (with or without a `Content-Type`), `null` or empty (no
    /// fields), or `application/x-www-form-urlencoded`.
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, HttpResponse> {
        // As Vault does: a form content type counts only if the body does not look like JSON
        // (`curl --data @payload.json` sends JSON labelled as a form).
        let looks_like_json = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{' || *b == b'n');
        let is_form = !looks_like_json
            && req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| bad_request("failed to parse form-encoded input"))?;
            let fields = pairs
                .into_iter()
                .map(|(name, value)| (name, Value::String(value)))
                .collect();
            return Ok(Self { fields });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => Ok(Self { fields }),
            Ok(Value::Null) => Ok(Self::default()),
            Ok(_) => Err(bad_request(
                "failed to decode JSON input: the body must be a JSON object",
            )),
            // serde_json's syntax messages name a position, never the input itself.
            Err(error) => Err(bad_request(format!("failed to decode JSON input: {error}"))),
        }
    }

    /// Wraps one `batch_input` item.
    pub fn from_map(fields: Map<String, Value>) -> Self {
        Self { fields }
    }

    /// Whether the field is present and not null.
    pub fn has(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|v| !v.is_null())
    }

    /// The warning Vault adds for fields an endpoint does not take (`None` if all are known).
    pub fn unknown_fields_warning(&self, known: &[&str]) -> Option<String> {
        let mut unknown: Vec<&str> = self
            .fields
            .keys()
            .map(String::as_str)
            .filter(|name| !known.contains(name))
            .collect();
        if unknown.is_empty() {
            return None;
        }
        unknown.sort_unstable();
        Some(format!(
            "Endpoint ignored these unrecognized parameters: [{}]",
            unknown.join(" ")
        ))
    }

    /// A string field; numbers and booleans are accepted as their text (Vault's weak decode).
    pub fn string(&self, name: &str) -> Result<Option<String>, Refusal> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(conversion_error(name, "string")),
        }
    }

    /// A boolean field: JSON booleans, or strings Go's `strconv.ParseBool` accepts.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, Refusal> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(conversion_error(name, "bool")),
            },
            Some(Value::String(text)) => match text.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Some(true)),
                "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(Some(false)),
                _ => Err(conversion_error(name, "bool")),
            },
            Some(_) => Err(conversion_error(name, "bool")),
        }
    }

    /// An integer field: a JSON integer, or a string of one.
    pub fn int(&self, name: &str) -> Result<Option<i64>, Refusal> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| conversion_error(name, "int")),
            Some(Value::String(text)) if text.is_empty() => Ok(Some(0)),
            Some(Value::String(text)) => text
                .parse::<i64>()
                .map(Some)
                .map_err(|_| conversion_error(name, "int")),
            Some(_) => Err(conversion_error(name, "int")),
        }
    }

    /// A duration in seconds: an integer (seconds) or a Go-style duration such as `24h`,
    /// `90m`, `1h30m`, `3600s`, and `d` for days as Vault accepts.
    pub fn duration_secs(&self, name: &str) -> Result<Option<i64>, Refusal> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| conversion_error(name, "duration")),
            Some(Value::String(text)) => parse_duration(text)
                .map(Some)
                .ok_or_else(|| conversion_error(name, "duration")),
            Some(_) => Err(conversion_error(name, "duration")),
        }
    }

    /// A standard-base64 field, decoded like Go (`None` if absent).
    pub fn base64(&self, name: &str) -> Result<Option<Vec<u8>>, Refusal> {
        match self.string(name)? {
            None => Ok(None),
            Some(text) => decode_base64(&text).map(Some),
        }
    }

    /// `batch_input`: a list of objects, or `None` when absent.
    pub fn batch(&self) -> Result<Option<Vec<Params>>, HttpResponse> {
        match self.fields.get("batch_input") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(fields) => Ok(Params::from_map(fields.clone())),
                    _ => Err(bad_request(
                        "failed to parse batch input: every item must be a JSON object",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad_request(
                "failed to parse batch input: `batch_input` must be a list of JSON objects",
            )),
        }
    }
}

/// Decodes Go-compatible standard base64, with Go's error text on failure.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, Refusal> {
    go_base64::decode(text).map_err(|error| Refusal(error.to_string()))
}

fn conversion_error(name: &str, kind: &str) -> Refusal {
    // Never echo the value: it may be a secret someone pasted in the wrong field.
    Refusal(format!(
        "error converting input for field \"{name}\": cannot parse value as '{kind}'"
    ))
}

/// Parses `0`, `3600`, `24h`, `1h30m`, `90s`, `7d`. `None` for anything else.
fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let value: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(value.checked_mul(unit)?)?;
    }
    digits.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn parse(body: &str) -> Params {
        Params::parse(&TestRequest::default().to_http_request(), body.as_bytes()).unwrap()
    }

    #[test]
    fn cli_strings_are_coerced() {
        let p = parse(r#"{"derived":"true","bits":"128","key_version":"1","x":null}"#);
        assert_eq!(p.boolean("derived").unwrap(), Some(true));
        assert_eq!(p.int("bits").unwrap(), Some(128));
        assert_eq!(p.int("key_version").unwrap(), Some(1));
        assert_eq!(p.int("x").unwrap(), None);
        assert!(parse(r#"{"key_version":"abc"}"#)
            .int("key_version")
            .is_err());
        assert!(parse(r#"{"derived":"maybe"}"#).boolean("derived").is_err());
    }

    #[test]
    fn null_empty_and_form_bodies() {
        assert!(!parse("null").has("plaintext"));
        assert!(!parse("").has("plaintext"));
        let req = TestRequest::default()
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .to_http_request();
        let p = Params::parse(&req, b"plaintext=aGk%3D&key_version=1").unwrap();
        assert_eq!(p.string("plaintext").unwrap().as_deref(), Some("aGk="));
        let p = Params::parse(&req, br#" {"plaintext":"aGk="}"#).unwrap();
        assert_eq!(p.string("plaintext").unwrap().as_deref(), Some("aGk="));
        let req = TestRequest::default().to_http_request();
        assert!(Params::parse(&req, b"{nope").is_err());
        assert!(Params::parse(&req, b"[1]").is_err());
    }

    #[test]
    fn unknown_fields_are_named_sorted() {
        let p = parse(r#"{"plaintext":"","zeta":1,"alpha":2}"#);
        assert_eq!(
            p.unknown_fields_warning(&["plaintext"]).as_deref(),
            Some("Endpoint ignored these unrecognized parameters: [alpha zeta]")
        );
        assert_eq!(
            p.unknown_fields_warning(&["plaintext", "alpha", "zeta"]),
            None
        );
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("0", 0),
            ("3600", 3600),
            ("24h", 86_400),
            ("1h30m", 5400),
            ("7d", 604_800),
            ("90s", 90),
        ] {
            assert_eq!(parse_duration(text), Some(secs), "{text}");
        }
        for bad in ["h", "1x", "1h3", "-", "1.5h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn batch_items_must_be_objects() {
        assert_eq!(
            parse(r#"{"batch_input":[{"a":1},{}]}"#)
                .batch()
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert!(parse(r#"{"batch_input":"[]"}"#).batch().is_err());
        assert!(parse(r#"{"batch_input":[1]}"#).batch().is_err());
        assert!(parse(r#"{"plaintext":null}"#).batch().unwrap().is_none());
    }
}
