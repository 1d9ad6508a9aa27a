//! [`CliError`]: everything a command can fail with, its one-line message and its exit code.
//!
//! Messages never contain a token or plaintext: server messages do not quote request values,
//! and local errors name files and operations only.

use cryptoserve_client::{Error as ApiError, TlsFailure};
use cryptoserve_core::CoreError;

/// Exit code of any failure without a more specific one.
pub const EXIT_OTHER: u8 = 1;
/// Exit code of a usage or configuration error (also clap's for bad arguments).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a refused token (401) or a forbidden action (403).
pub const EXIT_AUTH: u8 = 3;
/// Exit code of an unknown context, identity or override (404).
pub const EXIT_NOT_FOUND: u8 = 4;
/// Exit code of a rate-limited call (429) after the allowed waits.
pub const EXIT_RATE_LIMITED: u8 = 5;
/// Exit code of an unreachable or failing server (transport, timeout, 5xx, not ready).
pub const EXIT_UNAVAILABLE: u8 = 6;
/// Exit code of refused data: decryption failed, a damaged or foreign file, an invalid
/// request (400, 409, 413).
pub const EXIT_DATA_REFUSED: u8 = 7;

/// Crate result alias.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server refused the call, or could not be reached.
    #[error("{}", describe_api(.0))]
    Api(#[from] ApiError),
    /// The server would not unwrap the data key stored in a file's header.
    #[error("the file's data key could not be unwrapped: {}", describe_api(.0))]
    UnwrapKey(ApiError),
    /// The encrypted file was refused by the format (damaged, truncated, foreign) or the
    /// stream could not be set up.
    #[error("{0}")]
    File(#[from] CoreError),
    /// Reading or writing a local file or stream failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, e.g. `reading db.dump`.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Arguments that parse but do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// Input that cannot be what the command expects (e.g. a ciphertext that is not text).
    #[error("{0}")]
    BadInput(String),
    /// The audit chain did not verify.
    #[error("the audit chain did not verify ({findings}){}", .first_broken_id.map_or_else(String::new, |id| format!(", first at row {id}")))]
    AuditBroken {
        /// The first row a problem was found at.
        first_broken_id: Option<i64>,
        /// The kinds of findings, e.g. `truncated, gap`.
        findings: String,
    },
    /// Not every instance answered ready.
    #[error("{not_ready} of {total} instances are not ready")]
    NotReady {
        /// How many were not ready or unreachable.
        not_ready: usize,
        /// How many were asked.
        total: usize,
    },
    /// Printing JSON failed.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl CliError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }

    /// The process exit code for this error (see `cs --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Api(error) | Self::UnwrapKey(error) => api_exit_code(error),
            Self::File(error) => file_exit_code(error),
            Self::Usage(_) => EXIT_USAGE,
            Self::BadInput(_) => EXIT_DATA_REFUSED,
            Self::NotReady { .. } => EXIT_UNAVAILABLE,
            Self::Io { .. } | Self::AuditBroken { .. } | Self::Json(_) => EXIT_OTHER,
        }
    }

    /// Whether this is stdout closing early (`cs context list | head -1`): not worth a
    /// message.
    pub fn is_broken_pipe(&self) -> bool {
        let broken = Some(std::io::ErrorKind::BrokenPipe);
        match self {
            Self::Io { source, .. } => Some(source.kind()) == broken,
            Self::Json(error) => error.io_error_kind() == broken,
            _ => false,
        }
    }
}

fn api_exit_code(error: &ApiError) -> u8 {
    match error {
        ApiError::Unauthorized(_) | ApiError::Forbidden(_) => EXIT_AUTH,
        ApiError::UnknownContext(_) | ApiError::NotFound(_) => EXIT_NOT_FOUND,
        ApiError::RateLimited { .. } => EXIT_RATE_LIMITED,
        ApiError::ServiceUnavailable(_)
        | ApiError::Server(_)
        | ApiError::Transport { .. }
        | ApiError::Tls { .. } => EXIT_UNAVAILABLE,
        ApiError::DecryptionFailed(_)
        | ApiError::InvalidRequest(_)
        | ApiError::Conflict(_)
        | ApiError::PayloadTooLarge(_) => EXIT_DATA_REFUSED,
        ApiError::Config(_) | ApiError::TlsFile { .. } => EXIT_USAGE,
        _ => EXIT_OTHER,
    }
}

fn file_exit_code(error: &CoreError) -> u8 {
    match error {
        CoreError::NotAnEncryptedFile
        | CoreError::UnsupportedFileVersion { .. }
        | CoreError::FileCorrupt { .. }
        | CoreError::FileHeaderAuthenticationFailed
        | CoreError::FileChunkAuthenticationFailed { .. }
        | CoreError::FileTruncated
        | CoreError::FileTrailingData
        | CoreError::DecryptionFailed => EXIT_DATA_REFUSED,
        CoreError::InvalidContextName | CoreError::InvalidFileParameters { .. } => EXIT_USAGE,
        _ => EXIT_OTHER,
    }
}

/// One line for an API error: what happened, the server's explanation, the request id.
fn describe_api(error: &ApiError) -> String {
    let mut line = match error {
        ApiError::Transport { address, source } => {
            // reqwest's own message is generic ("error sending request"); the innermost
            // cause says what actually happened (connection refused, timed out, ...).
            let mut cause: &dyn std::error::Error = source;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let detail = if source.is_timeout() {
                "timed out".to_owned()
            } else {
                cause.to_string()
            };
            return format!("could not reach {address}: {detail}");
        }
        ApiError::InvalidResponse { detail, .. } => {
            format!("unexpected response from the server: {detail}")
        }
        ApiError::Tls {
            address,
            kind,
            detail,
            ..
        } => {
            return format!(
                "TLS handshake with {address} failed: {detail} ({})",
                tls_hint(*kind)
            )
        }
        ApiError::Config(message) => return format!("configuration: {message}"),
        ApiError::TlsFile { what, path, detail } => {
            return format!("configuration: {what} {}: {detail}", path.display())
        }
        ApiError::PayloadTooLarge(failure) => format!(
            "{} (the server's body limit; use `cs encrypt-file` for large data)",
            failure.message
        ),
        ApiError::RateLimited {
            retry_after,
            failure,
        } => match retry_after {
            Some(delay) => format!("{} (retry after {} s)", failure.message, delay.as_secs()),
            None => failure.message.clone(),
        },
        other => match other.failure() {
            Some(failure) => {
                let kind = kind(other);
                if failure.message.eq_ignore_ascii_case(kind) || kind.is_empty() {
                    failure.message.clone()
                } else {
                    format!("{kind}: {}", failure.message)
                }
            }
            None => other.to_string(),
        },
    };
    if let Some(id) = error.request_id() {
        line.push_str(&format!(" (request id {id})"));
    }
    line
}

/// What a failed handshake means for someone at the command line, and what to pass.
fn tls_hint(kind: TlsFailure) -> &'static str {
    match kind {
        TlsFailure::UnknownIssuer => {
            "the server's certificate is not signed by a trusted CA: pass its CA file with \
             --cacert or $CRYPTOSERVE_CACERT"
        }
        TlsFailure::ClientCertificateRequired => {
            "the server requires a client certificate: pass --client-cert and --client-key"
        }
        other => other.explanation(),
    }
}

/// A short name of the refusal, prefixed to the server's message.
fn kind(error: &ApiError) -> &'static str {
    match error {
        ApiError::DecryptionFailed(_) => "decryption failed",
        ApiError::Unauthorized(_) => "unauthorized",
        ApiError::Forbidden(_) => "forbidden",
        ApiError::UnknownContext(_) => "unknown context",
        ApiError::NotFound(_) => "not found",
        ApiError::InvalidRequest(_) => "invalid request",
        ApiError::Conflict(_) => "conflict",
        ApiError::ServiceUnavailable(_) => "service unavailable",
        ApiError::Server(_) => "server error",
        _ => "",
    }
}
