//! [`Error`]: everything a call can fail with. API failures mirror the server's stable
//! `code`s and carry the message and the request id; transport and configuration failures
//! say what was being attempted.

use std::path::PathBuf;
use std::time::Duration;

use crate::tls::TlsFailure;

/// What the server said about a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status.
    pub status: u16,
    /// The server's stable code, e.g. `unknown_context` (`http_<status>` when the body was not
    /// CryptoServe's error shape, e.g. from a proxy).
    pub code: String,
    /// Human-readable explanation from the server.
    pub message: String,
    /// `X-Request-ID` of the request (the server's echo), for correlating with its logs.
    pub request_id: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, HTTP {}", self.message, self.code, self.status)?;
        if let Some(id) = &self.request_id {
            write!(f, ", request id {id}")?;
        }
        f.write_str(")")
    }
}

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `decryption_failed`: tampered, truncated, wrong context or associated data, retired
    /// version (deliberately one answer for all).
    #[error("decryption failed: {0}")]
    DecryptionFailed(Failure),
    /// `rate_limited`, after the configured waits were used up.
    #[error("rate limited: {failure}")]
    RateLimited {
        /// When a retry can succeed (`Retry-After`); `None` when the server sent none.
        retry_after: Option<Duration>,
        /// The server's answer.
        failure: Failure,
    },
    /// `unauthorized`: no token, or an invalid, expired or revoked one.
    #[error("unauthorized: {0}")]
    Unauthorized(Failure),
    /// `forbidden`: the identity may not do this.
    #[error("forbidden: {0}")]
    Forbidden(Failure),
    /// `unknown_context`: the context does not exist.
    #[error("unknown context: {0}")]
    UnknownContext(Failure),
    /// `not_found`: no such identity, override or route.
    #[error("not found: {0}")]
    NotFound(Failure),
    /// `invalid_request`, `invalid_json` or `invalid_base64`: the request itself is wrong.
    #[error("invalid request: {0}")]
    InvalidRequest(Failure),
    /// `conflict`: the change conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(Failure),
    /// `payload_too_large`: the body exceeds the server's limit.
    #[error("payload too large: {0}")]
    PayloadTooLarge(Failure),
    /// `service_unavailable` (or a 502/503/504 from a proxy) from every address tried.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(Failure),
    /// Any other answer: a 5xx, or a code this client does not know.
    #[error("server error: {0}")]
    Server(Failure),
    /// No answer: connection refused, reset or timed out.
    #[error("could not reach {address}: {source}")]
    Transport {
        /// The base address tried last.
        address: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS handshake failed: the server's certificate is not trusted, has expired or names
    /// another host, or the server refused this client's certificate. Not transient: the call
    /// is never repeated at that address (other addresses are still tried).
    #[error("TLS handshake with {address} failed: {detail} ({})", kind.explanation())]
    Tls {
        /// The base address whose handshake failed (the last one tried).
        address: String,
        /// What was wrong.
        kind: TlsFailure,
        /// rustls' description, e.g. `invalid peer certificate: UnknownIssuer`.
        detail: String,
        /// The error as reqwest reported it.
        #[source]
        source: reqwest::Error,
    },
    /// An answer this client cannot read (not the documented JSON or base64).
    #[error("unexpected response from the server ({detail}); request id {request_id:?}")]
    InvalidResponse {
        /// What did not parse.
        detail: String,
        /// `X-Request-ID` of the request.
        request_id: Option<String>,
    },
    /// The client could not be configured: no address, a bad URL, an unreadable profile or
    /// token file.
    #[error("client configuration: {0}")]
    Config(String),
    /// A TLS file (CA bundle, client certificate or key) cannot be read or used. The message
    /// names the file and never quotes its contents.
    #[error("client configuration: {what} {}: {detail}", path.display())]
    TlsFile {
        /// Which file: `CA file`, `client certificate` or `client key`.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Maps the server's answer to its variant, by `code` first and status second.
    pub(crate) fn from_failure(failure: Failure, retry_after: Option<Duration>) -> Self {
        match (failure.code.as_str(), failure.status) {
            ("decryption_failed", _) => Self::DecryptionFailed(failure),
            ("rate_limited", _) | (_, 429) => Self::RateLimited {
                retry_after,
                failure,
            },
            ("unauthorized", _) | (_, 401) => Self::Unauthorized(failure),
            ("forbidden", _) | (_, 403) => Self::Forbidden(failure),
            ("unknown_context", _) => Self::UnknownContext(failure),
            ("not_found", _) | (_, 404) => Self::NotFound(failure),
            ("invalid_request" | "invalid_json" | "invalid_base64" | "invalid_checkpoint", _) => {
                Self::InvalidRequest(failure)
            }
            ("conflict", _) | (_, 409) => Self::Conflict(failure),
            ("payload_too_large", _) | (_, 413) => Self::PayloadTooLarge(failure),
            ("service_unavailable", _) | (_, 502..=504) => Self::ServiceUnavailable(failure),
            _ => Self::Server(failure),
        }
    }

    /// The server's answer, for API errors.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::DecryptionFailed(f)
            | Self::RateLimited { failure: f, .. }
            | Self::Unauthorized(f)
            | Self::Forbidden(f)
            | Self::UnknownContext(f)
            | Self::NotFound(f)
            | Self::InvalidRequest(f)
            | Self::Conflict(f)
            | Self::PayloadTooLarge(f)
            | Self::ServiceUnavailable(f)
            | Self::Server(f) => Some(f),
            Self::Transport { .. }
            | Self::Tls { .. }
            | Self::InvalidResponse { .. }
            | Self::Config(_)
            | Self::TlsFile { .. } => None,
        }
    }

    /// The server's stable error code (`unknown_context`, ...), for API errors.
    pub fn code(&self) -> Option<&str> {
        self.failure().map(|f| f.code.as_str())
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        self.failure().map(|f| f.status)
    }

    /// The request id of the failed request, when the server answered.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::InvalidResponse { request_id, .. } => request_id.as_deref(),
            other => other.failure().and_then(|f| f.request_id.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16, code: &str) -> Failure {
        Failure {
            status,
            code: code.into(),
            message: "m".into(),
            request_id: Some("req-1".into()),
        }
    }

    #[test]
    fn codes_map_to_variants_and_keep_the_request_id() {
        let error = Error::from_failure(failure(404, "unknown_context"), None);
        assert!(matches!(error, Error::UnknownContext(_)));
        assert_eq!(error.request_id(), Some("req-1"));
        assert_eq!(error.code(), Some("unknown_context"));
        let error = Error::from_failure(failure(400, "invalid_base64"), None);
        assert!(matches!(error, Error::InvalidRequest(_)));
        let error = Error::from_failure(failure(429, "rate_limited"), Some(Duration::from_secs(2)));
        assert!(matches!(
            error,
            Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(2)
        ));
        let error = Error::from_failure(failure(502, "http_502"), None);
        assert!(matches!(error, Error::ServiceUnavailable(_)));
        let error = Error::from_failure(failure(405, "method_not_allowed"), None);
        assert!(matches!(error, Error::Server(_)));
        assert!(error.to_string().contains("request id req-1"));
    }
}
