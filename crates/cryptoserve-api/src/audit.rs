//! The tamper-evident admin audit log: its rows, a page of them, the paging query, the
//! checkpoints published outside the database, and the result of verifying the chain.

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

/// Result of walking the whole audit chain, and of comparing it with expected checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// Rows examined (every row: the walk does not stop at the first problem).
    pub rows_checked: u64,
    /// True when every row verifies, every back-link holds and every checkpoint matches.
    pub ok: bool,
    /// The first row (in id order) a problem was found at; for truncation alone, the
    /// checkpoint's sequence.
    pub first_broken_id: Option<i64>,
    /// The newest row's id, `None` for an empty chain.
    #[serde(default)]
    pub last_id: Option<i64>,
    /// The newest row's MAC (the chain's head), `None` for an empty chain.
    #[serde(default)]
    pub head_mac: Option<String>,
    /// Every checkpoint the chain was compared with (given in the request, read from Redis).
    #[serde(default)]
    pub checkpoints: Vec<CheckedCheckpoint>,
    /// What is wrong, one entry per finding, in row order (at most 1000).
    #[serde(default)]
    pub problems: Vec<AuditProblem>,
}

/// What kind of damage a finding shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditProblemKind {
    /// Rows at the end are gone: a checkpoint names a sequence beyond the last row, or the
    /// row at the checkpoint's sequence no longer exists.
    Truncated,
    /// A row's content or MAC does not verify, or the row at a checkpoint's sequence has a
    /// different MAC than the checkpoint recorded.
    Rewritten,
    /// Rows are missing in the middle: this row is intact but its predecessor is not the row
    /// it was chained to (or the first row does not start the chain).
    Gap,
    /// This row is intact but signed for another position (its id was changed or swapped).
    Reordered,
}

/// One finding of [`AuditVerification`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditProblem {
    /// The kind of damage.
    pub kind: AuditProblemKind,
    /// The row it was found at (for truncation: the checkpoint's sequence).
    pub row_id: i64,
    /// A sentence for the operator.
    pub detail: String,
}

/// A signed statement of the audit chain's head at a moment: "row `sequence` existed with
/// MAC `head_mac` at `at`". Published outside the database (Redis, the `cryptoserve::audit`
/// log target) so deleting the newest rows can be detected later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditCheckpoint {
    /// Id of the newest row when the checkpoint was taken.
    pub sequence: i64,
    /// That row's chain MAC.
    pub head_mac: String,
    /// When the checkpoint was taken (microsecond precision).
    pub at: DateTime<Utc>,
    /// HMAC of the three fields above under the audit key (hex), domain-separated from row
    /// MACs.
    pub mac: String,
}

/// Where a checkpoint used by a verification came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointSource {
    /// The request body (`POST /api/admin/audit/verify`).
    Request,
    /// The latest checkpoint in Redis (when `REDIS_URL` is configured).
    Redis,
}

/// A checkpoint compared with the chain, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckedCheckpoint {
    /// Where it came from.
    pub source: CheckpointSource,
    /// The checkpoint.
    pub checkpoint: AuditCheckpoint,
    /// False when its MAC does not verify (then it was not used).
    pub authentic: bool,
}

/// Body of `POST /api/admin/audit/verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerifyRequest {
    /// The checkpoint the chain must still reach (e.g. one kept by a log shipper). Its MAC
    /// must verify (`invalid_checkpoint` otherwise).
    #[serde(default)]
    pub checkpoint: Option<AuditCheckpoint>,
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
