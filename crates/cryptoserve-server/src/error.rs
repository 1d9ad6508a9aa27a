//! The one API error type and its JSON shape.
//!
//! Every failure a client sees is `{"error": {"code", "message", "request_id"}}` with a stable
//! `code`. The mapping from error to status and code lives here and nowhere else. A 5xx logs
//! its cause but answers only "internal error".

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

pub use cryptoserve_api::{ErrorBody, ErrorDetail};
use cryptoserve_store::StoreError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the JSON this endpoint takes.
    #[error("{0}")]
    InvalidJson(String),
    /// A base64 field does not decode.
    #[error("field `{0}` is not valid base64 (standard alphabet, with padding)")]
    InvalidBase64(&'static str),
    /// A well-formed request with an unacceptable value.
    #[error("{0}")]
    InvalidRequest(String),
    /// An audit checkpoint whose MAC does not verify under this deployment's audit key.
    #[error("the checkpoint's MAC does not verify: it was altered, or comes from another deployment or master key")]
    InvalidCheckpoint,
    /// The body is larger than the configured limit.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// The request did not say it is JSON.
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The request's header fields together exceed the limit (in bytes).
    #[error("request header fields are larger than the limit of {0} bytes")]
    RequestHeaderFieldsTooLarge(usize),
    /// The named context does not exist.
    #[error("context `{0}` does not exist")]
    UnknownContext(String),
    /// Decryption failed, for whatever reason (deliberately uninformative).
    #[error("decryption failed")]
    DecryptionFailed,
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Valid credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Route or resource not found.
    #[error("{0}")]
    NotFound(String),
    /// Route exists, method does not.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// A rate limit refused the request.
    #[error("{}", rate_limited_message(dimension, *retry_after_secs))]
    RateLimited {
        /// Which dimension refused.
        dimension: &'static str,
        /// Seconds until a retry can succeed (a batch above the burst waits for a full bucket);
        /// `None` if the limiter gave no wait.
        retry_after_secs: Option<u64>,
        /// `X-RateLimit-*` headers to send with the refusal.
        headers: crate::rate_limit::RateHeaders,
    },
    /// A dependency (the database) is unavailable; the caller may retry later.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// A bug or unexpected failure. The cause is logged, never returned.
    #[error("internal error")]
    Internal(String),
}

/// Crate result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidBase64(_) => "invalid_base64",
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidCheckpoint => "invalid_checkpoint",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RequestHeaderFieldsTooLarge(_) => "request_header_fields_too_large",
            Self::UnknownContext(_) => "unknown_context",
            Self::DecryptionFailed => "decryption_failed",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::RateLimited { .. } => "rate_limited",
            Self::ServiceUnavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The JSON body for this error (`{"error": {...}}`, the API crate's [`ErrorBody`]).
    pub fn body(&self, request_id: Option<&str>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
                request_id: request_id.map(str::to_owned),
            },
        }
    }
}

fn rate_limited_message(dimension: &str, retry_after_secs: Option<u64>) -> String {
    match retry_after_secs {
        Some(secs) => {
            format!("rate limit exceeded for the {dimension} limit; retry after {secs} s")
        }
        None => format!("rate limit exceeded for the {dimension} limit"),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_)
            | Self::InvalidBase64(_)
            | Self::InvalidRequest(_)
            | Self::InvalidCheckpoint
            | Self::DecryptionFailed => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestHeaderFieldsTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnknownContext(_) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The request-id middleware re-renders this with the request id filled in.
        let mut response = HttpResponse::build(self.status_code());
        if let Self::RateLimited {
            retry_after_secs,
            headers,
            ..
        } = self
        {
            if let Some(secs) = retry_after_secs {
                response.insert_header(("Retry-After", secs.to_string()));
            }
            for (name, value) in headers {
                response.insert_header((name.clone(), value.clone()));
            }
        }
        if matches!(self, Self::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(self.body(None))
    }
}

impl From<cryptoserve_core::CoreError> for ApiError {
    /// Decryption failures stay uniform; refusals of the request itself (a derived context
    /// without its derivation context, a version outside the window, a bad data key size) are
    /// the caller's to fix; a failing random generator is ours.
    fn from(error: cryptoserve_core::CoreError) -> Self {
        use cryptoserve_core::CoreError as E;
        match error {
            E::DecryptionFailed => Self::DecryptionFailed,
            E::RandomFailure | E::EncryptionFailed => Self::Internal(error.to_string()),
            other => Self::InvalidRequest(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::NotFound(error.to_string()),
            StoreError::InvalidInput(_) => Self::InvalidRequest(error.to_string()),
            StoreError::AlreadyExists { .. } | StoreError::Conflict(_) => {
                Self::Conflict(error.to_string())
            }
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %error, "database unavailable");
                Self::ServiceUnavailable(
                    "the database is unavailable; admin changes cannot be made right now, \
                     retry shortly (encrypt and decrypt keep working)"
                        .into(),
                )
            }
            other => {
                tracing::error!(error = %other, "database error");
                // Treat unknown database failures as unavailability: they are transient far
                // more often than they are bugs, and the client can retry.
                Self::ServiceUnavailable("the database failed to answer; retry shortly".into())
            }
        }
    }
}
