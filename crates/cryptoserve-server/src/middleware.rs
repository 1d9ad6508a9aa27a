//! Request ids, and one JSON error shape for every failure.
//!
//! Every response carries `X-Request-ID`: the client's, if it sent a sane one (1-64 of
//! `[A-Za-z0-9._-]`), else a fresh UUID. Every error response — ours, actix's own (404, 405,
//! payload errors) — leaves here as `{"error": {"code", "message", "request_id"}}`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};

use crate::error::ApiError;

/// The largest request header section answered normally: the header fields (`name: value` and
/// the line end, as sent) together. Larger ones get a JSON 431 before any handler, rate limit or
/// authentication runs. actix itself refuses a head over 128 KiB (or over 96 fields) with a
/// bare 431 and no body before the app sees it; nginx's default allows 4 × 8 KiB.
pub const MAX_REQUEST_HEADER_BYTES: usize = 16 * 1024;

/// The header name.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id, stored in request extensions for handlers and logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new request id: a random per-process prefix and a counter (`3f9a61c2e07b4d15-1a`).
/// Unique across instances without a `getrandom` system call per request, which a UUID v4
/// costs and which showed up in the encrypt profile.
fn fresh_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned());
    let mut n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // `{prefix}-{n:x}`, without the formatting machinery.
    let mut digits = [0u8; 16];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    let mut id = String::with_capacity(prefix.len() + 1 + digits.len() - start);
    id.push_str(prefix);
    id.push('-');
    id.extend(digits[start..].iter().map(|&d| char::from(d)));
    id
}

/// The middleware: assigns the id, renders errors, sets the header.
pub async fn request_id_and_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| sane(value))
        .map(str::to_owned)
        .unwrap_or_else(fresh_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = std::time::Instant::now();

    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let response = if header_bytes > MAX_REQUEST_HEADER_BYTES {
        req.error_response(ApiError::RequestHeaderFieldsTooLarge(
            MAX_REQUEST_HEADER_BYTES,
        ))
    } else {
        match next.call(req).await {
            Ok(response) => response.map_into_boxed_body(),
            // Errors raised before a response exists still get our shape.
            Err(error) => {
                return Err(error);
            }
        }
    };
    let mut response = render_error(response, &id);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    observe(&response, &id, started);
    Ok(response)
}

/// One log line and the HTTP metrics for a finished request. Never logs bodies, tokens or
/// query strings.
fn observe(response: &ServiceResponse<BoxBody>, id: &str, started: std::time::Instant) {
    let request = response.request();
    let latency = started.elapsed();
    let pattern = request.match_pattern();
    let route = pattern.as_deref().unwrap_or("unmatched");
    let method = request.method().as_str();
    let status = response.status();
    if let Some(state) = request.app_data::<actix_web::web::Data<crate::state::AppState>>() {
        state
            .metrics
            .http_requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        state
            .metrics
            .http_latency
            .with_label_values(&[route, method])
            .observe(latency.as_secs_f64());
    }
    let extensions = request.extensions();
    let identity = extensions.get::<crate::auth::Principal>().map(|p| p.id());
    let context = extensions
        .get::<crate::routes::crypto::LoggedContext>()
        .map(|c| c.0.as_str());
    crate::telemetry::log_access(&crate::telemetry::AccessRecord {
        request_id: id,
        method,
        route,
        status: status.as_u16(),
        latency,
        identity: identity.unwrap_or("-"),
        context: context.unwrap_or("-"),
    });
}

/// Re-renders any error response in the one JSON shape, with the request id.
fn render_error(response: ServiceResponse<BoxBody>, id: &str) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let api_error = match response.response().error() {
        Some(error) => match error.as_error::<ApiError>() {
            Some(api) => Some(api.body(Some(id))),
            None => Some(classify(status).body(Some(id))),
        },
        None => {
            let is_json = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            (!is_json).then(|| classify(status).body(Some(id)))
        }
    };
    let Some(body) = api_error else {
        return response;
    };
    if response.request().path().starts_with("/v1/") {
        return render_vault_error(response, body.error.message);
    }
    if status.is_server_error() {
        if let Some(error) = response.response().error() {
            tracing::error!(request_id = %id, error = %error, "request failed");
        }
    }
    let (request, old) = response.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let new = new.json(body);
    ServiceResponse::new(request, new)
}

/// Under `/v1` (the Vault-compatible API) failures raised outside its handlers (an oversized
/// body, say) still leave in Vault's shape: `{"errors": [message]}`, with `Content-Type:
/// application/json` exactly.
fn render_vault_error(
    response: ServiceResponse<BoxBody>,
    message: String,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let (request, _) = response.into_parts();
    let new = HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(serde_json::json!({ "errors": [message] }).to_string());
    ServiceResponse::new(request, new)
}

/// An `ApiError` for a bare status produced outside our handlers.
fn classify(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::NotFound("no such route".into()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(0),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("authentication required"),
        StatusCode::FORBIDDEN => ApiError::Forbidden("forbidden".into()),
        StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited {
            dimension: "request",
            retry_after_secs: Some(1),
            headers: Vec::new(),
        },
        StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::ServiceUnavailable("service unavailable".into())
        }
        s if s.is_client_error() => ApiError::InvalidRequest("the request is not valid".into()),
        _ => ApiError::Internal(format!("status {status}")),
    }
}

/// Route of last resort: everything unmatched is a JSON 404.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

/// A known route called with the wrong method.
pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// Maps actix's JSON extractor failures to our codes without echoing request data.
pub fn json_error(
    limit: usize,
) -> impl Fn(actix_web::error::JsonPayloadError, &actix_web::HttpRequest) -> actix_web::Error
       + Send
       + Sync
       + Clone
       + 'static {
    move |error, _req| {
        use actix_web::error::JsonPayloadError as E;
        let api = match &error {
            E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::PayloadTooLarge(limit),
            E::ContentType => ApiError::UnsupportedMediaType,
            E::Deserialize(inner) => ApiError::InvalidJson(describe_json_error(inner)),
            _ => ApiError::InvalidJson("the request body could not be read as JSON".into()),
        };
        api.into()
    }
}

/// serde_json messages for type errors can quote the offending value (which might be a
/// secret), so only messages that name fields are passed through.
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let position = format!("line {} column {}", error.line(), error.column());
    match error.classify() {
        Category::Syntax | Category::Eof => format!("the body is not valid JSON ({position})"),
        Category::Data => {
            let text = error.to_string();
            if text.starts_with("missing field") || text.starts_with("duplicate field") {
                let field = text.split('`').nth(1).unwrap_or("?");
                format!(
                    "{} `{field}`",
                    text.split(" `").next().unwrap_or("missing field")
                )
            } else {
                format!("the JSON does not match this endpoint's schema ({position})")
            }
        }
        Category::Io => "the request body could not be read".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_unique_and_sane() {
        let a = fresh_request_id();
        let b = fresh_request_id();
        assert_ne!(a, b);
        assert!(sane(&a) && sane(&b), "{a} {b}");
        assert_eq!(
            a.split('-').next(),
            b.split('-').next(),
            "one prefix per process"
        );
    }
}
