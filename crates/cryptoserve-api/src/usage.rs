//! Crypto usage counters: `GET /api/admin/usage`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Operations of one kind in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageRow {
    /// Start of the minute.
    pub minute: DateTime<Utc>,
    /// Calling identity.
    pub identity_id: String,
    /// Context used.
    pub context: String,
    /// Operation name, e.g. `encrypt`.
    pub operation: String,
    /// `success` or an error code.
    pub outcome: String,
    /// How many operations.
    pub count: u64,
    /// Payload bytes processed.
    pub bytes: u64,
}

/// Crypto usage counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageReport {
    /// Per (minute, identity, context, operation, outcome), oldest minute first.
    pub usage: Vec<UsageRow>,
}

/// Filters; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Only this context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Only this identity id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Only minutes at or after this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}
