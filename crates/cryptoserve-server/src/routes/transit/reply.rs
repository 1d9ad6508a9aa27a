//! Response shapes of the Vault HTTP API, exactly as Vault clients parse them.
//!
//! - Success: the eight-field envelope `{request_id, lease_id, renewable, lease_duration, data,
//!   wrap_info, warnings, auth}`, in that order (vaultrs needs every field present).
//! - Failure: `{"errors": [...]}` with no envelope; a missing resource on a read is 404
//!   `{"errors": []}`.
//! - Every response carries `Content-Type: application/json` exactly (hvac compares the
//!   header string) and `Cache-Control: no-store`.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::Value;

use crate::error::ApiError;
use crate::middleware::RequestId;
use crate::routes::crypto::body::needs_no_escape;

/// The text Vault answers when a token lacks a capability.
pub const PERMISSION_DENIED: &str = "1 error occurred:\n\t* permission denied\n\n";

/// A handler's answer: either a response to send or a Vault-shaped error.
pub type Reply = Result<HttpResponse, HttpResponse>;

/// Sends either side: handlers use `?` on [`Reply`] and route functions flatten it.
pub fn flatten(reply: Reply) -> HttpResponse {
    reply.unwrap_or_else(|response| response)
}

/// The envelope's `request_id`: a UUID-format rendering of this request's `X-Request-ID`
/// (ours are 16 hex digits, a dash and a hex counter), so logs and responses still correlate;
/// anything else gets a fresh UUID.
pub fn request_id(req: &HttpRequest) -> String {
    let extensions = req.extensions();
    let Some(id) = extensions.get::<RequestId>().map(|id| id.0.as_str()) else {
        return uuid::Uuid::new_v4().to_string();
    };
    if id.len() == 36 && uuid::Uuid::parse_str(id).is_ok() {
        return id.to_owned();
    }
    let shape_ok = |prefix: &str, counter: &str| {
        prefix.len() == 16
            && (1..=16).contains(&counter.len())
            && prefix
                .bytes()
                .chain(counter.bytes())
                .all(|b| b.is_ascii_hexdigit())
    };
    let Some((prefix, counter)) = id.split_once('-').filter(|(p, c)| shape_ok(p, c)) else {
        return uuid::Uuid::new_v4().to_string();
    };
    let mut digits = [b'0'; 32];
    digits[..16].copy_from_slice(prefix.as_bytes());
    digits[32 - counter.len()..].copy_from_slice(counter.as_bytes());
    let mut out = String::with_capacity(36);
    for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push('-');
        }
        // Every byte is an ASCII hex digit (checked above).
        out.extend(digits[range].iter().map(|&b| char::from(b)));
    }
    out
}

/// A builder with the headers every Vault response carries.
pub fn builder(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "no-store"));
    builder
}

/// Fills an already started builder (e.g. one carrying rate-limit headers) with the envelope.
/// The JSON is written directly: ciphertext and base64 never need escaping, so the per-byte
/// escape scan is skipped where a string needs none (as on the native hot path).
pub fn envelope_into(
    mut builder: HttpResponseBuilder,
    req: &HttpRequest,
    data: &Value,
    warnings: &[String],
) -> HttpResponse {
    let mut body = Vec::with_capacity(256 + data.as_object().map_or(0, |fields| fields.len() * 64));
    body.extend_from_slice(b"{\"request_id\":");
    write_string(&mut body, &request_id(req));
    body.extend_from_slice(
        b",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":",
    );
    write_value(&mut body, data);
    body.extend_from_slice(b",\"wrap_info\":null,\"warnings\":");
    if warnings.is_empty() {
        body.extend_from_slice(b"null");
    } else {
        body.push(b'[');
        for (i, warning) in warnings.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            write_string(&mut body, warning);
        }
        body.push(b']');
    }
    body.extend_from_slice(b",\"auth\":null}");
    builder
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body)
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    if needs_no_escape(text) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Writes `value` as serde_json would, with [`write_string`] for strings and keys.
fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(text) => write_string(out, text),
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (key, field)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, field);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

/// 200 with the envelope.
pub fn data(req: &HttpRequest, data: &Value, warnings: &[String]) -> HttpResponse {
    envelope_into(builder(StatusCode::OK), req, data, warnings)
}

/// 204 with an empty body (still `Content-Type: application/json`, as Vault sends it).
pub fn no_content() -> HttpResponse {
    builder(StatusCode::NO_CONTENT).finish()
}

/// A Vault error: `{"errors": [message]}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    builder(status).body(errors_body(&[message.into()]))
}

/// 400 with one message: every user error in Vault.
pub fn bad_request(message: impl Into<String>) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, message)
}

/// 404 `{"errors":[]}`: a read of something that does not exist.
pub fn not_found_empty() -> HttpResponse {
    builder(StatusCode::NOT_FOUND).body(errors_body(&[]))
}

/// 404 for a path inside the mount that names no operation (or an invalid key name).
pub fn unsupported_path() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "1 error occurred:\n\t* unsupported path\n\n",
    )
}

/// 405 for a known path called with the wrong method.
pub fn unsupported_operation() -> HttpResponse {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "1 error occurred:\n\t* unsupported operation\n\n",
    )
}

/// 403 for a token that verified but may not do this.
pub fn denied() -> HttpResponse {
    error(StatusCode::FORBIDDEN, PERMISSION_DENIED)
}

/// The JSON text of `{"errors": [...]}`.
pub fn errors_body(messages: &[String]) -> String {
    serde_json::json!({ "errors": messages }).to_string()
}

/// Maps the shared service's errors to Vault's status codes: auth failures are 403 (never
/// 401, which would make hvac's `is_authenticated()` raise), user errors 400, a rate limit 429
/// with its `Retry-After`.
pub fn from_api(error: ApiError) -> HttpResponse {
    match error {
        ApiError::Unauthorized(_) => self::error(StatusCode::FORBIDDEN, "permission denied"),
        ApiError::Forbidden(_) => denied(),
        ApiError::UnknownContext(_) => bad_request("encryption key not found"),
        ApiError::NotFound(_) => not_found_empty(),
        ApiError::RateLimited {
            retry_after_secs,
            ref headers,
            ..
        } => {
            let mut builder = builder(StatusCode::TOO_MANY_REQUESTS);
            if let Some(secs) = retry_after_secs {
                builder.insert_header(("Retry-After", secs.to_string()));
            }
            for (name, value) in headers {
                builder.insert_header((name.clone(), value.clone()));
            }
            builder.body(errors_body(&[error.to_string()]))
        }
        ApiError::ServiceUnavailable(message) => {
            self::error(StatusCode::SERVICE_UNAVAILABLE, message)
        }
        ApiError::PayloadTooLarge(_) => {
            self::error(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
        }
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "transit request failed");
            self::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        ApiError::Conflict(message) => bad_request(strip_store_prefix(&message)),
        ApiError::InvalidRequest(message) => bad_request(strip_store_prefix(&message)),
        other => bad_request(other.to_string()),
    }
}

/// Store errors read "conflict: ..." / "invalid input: ..."; Vault clients show the bare
/// reason.
fn strip_store_prefix(message: &str) -> String {
    message
        .strip_prefix("conflict: ")
        .or_else(|| message.strip_prefix("invalid input: "))
        .unwrap_or(message)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn request_ids_become_uuids() {
        let req = TestRequest::default().to_http_request();
        req.extensions_mut()
            .insert(RequestId("3f9a61c2e07b4d15-1a".into()));
        let id = request_id(&req);
        assert_eq!(id, "3f9a61c2-e07b-4d15-0000-00000000001a");
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        req.extensions_mut().insert(RequestId("my-own-id".into()));
        assert!(uuid::Uuid::parse_str(&request_id(&req)).is_ok());
    }

    #[test]
    fn direct_json_equals_serde_json() {
        let value = serde_json::json!({
            "ciphertext": "vault:v1:AB+/==",
            "quote\"d": "new\nline é",
            "n": 3, "neg": -1.5, "b": true, "nil": null,
            "list": [{"reference": ""}, "x", 1],
        });
        let mut fast = Vec::new();
        write_value(&mut fast, &value);
        let parsed: Value = serde_json::from_slice(&fast).unwrap();
        assert_eq!(parsed, value);
        assert_eq!(fast, serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn envelope_has_every_field_in_order() {
        let req = TestRequest::default().to_http_request();
        let response = data(&req, &serde_json::json!({"a": 1}), &[]);
        assert_eq!(
            response.headers().get(CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body = actix_web::body::to_bytes(response.into_body());
        let body = futures::executor::block_on(body).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        let keys = [
            "request_id",
            "lease_id",
            "renewable",
            "lease_duration",
            "data",
            "wrap_info",
            "warnings",
            "auth",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("\"warnings\":null"), "{text}");
    }
}
