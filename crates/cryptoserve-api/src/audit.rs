//! The tamper-evident admin audit log: its rows, a page of them, the paging query, and the
//! result of verifying the chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One row of the tamper-evident admin audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// Position in the chain.
    pub id: i64,
    /// When it was written (microsecond precision).
    pub at: DateTime<Utc>,
    /// Identity id of the caller, or `cli` for the admin command line.
    pub actor: String,
    /// Dotted verb such as `context.create`.
    pub action: String,
    /// What was acted on (context name, identity id, ...).
    pub target: String,
    /// Correlates with request logs.
    pub request_id: String,
    /// Caller address as seen by the server.
    pub client_ip: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// The details JSON exactly as stored (and signed).
    pub details: Option<String>,
    /// MAC of the previous row, or 64 zeros for the first.
    pub prev_mac: String,
    /// This row's MAC.
    pub mac: String,
}

/// Result of walking the whole audit chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// Rows examined, including the first broken one.
    pub rows_checked: u64,
    /// True when every row's MAC and back-link are intact.
    pub ok: bool,
    /// The first row whose MAC or `prev_mac` does not match.
    pub first_broken_id: Option<i64>,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Rows in chain order.
    pub entries: Vec<AuditRecord>,
}

/// Query parameters of `GET /api/admin/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only rows at or after this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Only rows with a larger id (for paging).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_id: Option<i64>,
    /// Page size, 1-1000 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}
