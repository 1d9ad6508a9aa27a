//! The one shape of every failure on the native API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"error": {...}}`: the one shape of every failure (mirrors `crate::error::ErrorBody`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The fields of an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code clients match on, e.g. `invalid_request`, `unknown_context`.
    pub code: String,
    /// Human-readable explanation; never contains secrets or request data.
    pub message: String,
    /// The request's `X-Request-ID`.
    pub request_id: Option<String>,
}
