//! Rate-limit policies: the stored record and the bodies of `/api/admin/rate-limits`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{RateLimitDimension, RateLimitScope};

pub use crate::vocabulary::OverrideScope;

/// Largest sustained rate a policy may set.
pub const MAX_REQUESTS_PER_MINUTE: u32 = 10_000_000;
/// Largest burst a policy may set.
pub const MAX_BURST_SIZE: u32 = 1_000_000;

/// One stored rate-limit policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RateLimitPolicyRecord {
    /// Which requests it applies to.
    pub scope: RateLimitScope,
    /// What buckets are keyed by.
    pub dimension: RateLimitDimension,
    /// Context name or identity id for those scopes; empty for `default`.
    pub key: String,
    /// Sustained rate.
    pub requests_per_minute: u32,
    /// Requests allowed at once above the sustained rate.
    pub burst_size: u32,
    /// Disabled policies are kept but not enforced.
    pub enabled: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A policy as the API takes and shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// Sustained rate.
    // utoipa takes only literals here: keep in step with MAX_REQUESTS_PER_MINUTE.
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub requests_per_minute: u32,
    /// Requests allowed at once above the sustained rate.
    // Keep in step with MAX_BURST_SIZE.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub burst_size: u32,
    /// Whether the policy is enforced (default true).
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

impl PolicyBody {
    /// An enforced policy.
    pub fn new(requests_per_minute: u32, burst_size: u32) -> Self {
        Self {
            requests_per_minute,
            burst_size,
            enabled: true,
        }
    }
}

fn enabled_default() -> bool {
    true
}

/// Every policy in force: `GET /rate-limits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyList {
    /// Per dimension (`ip`, `identity`, `context`).
    pub defaults: BTreeMap<String, PolicyBody>,
    /// Overrides by context name.
    pub contexts: BTreeMap<String, PolicyBody>,
    /// Overrides by identity id.
    pub identities: BTreeMap<String, PolicyBody>,
}

/// The policy in force for one context or identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyInForce {
    /// The context name or identity id asked about.
    pub key: String,
    /// Whether an override applies (else the dimension's default).
    #[serde(rename = "override")]
    #[schema(rename = "override")]
    pub is_override: bool,
    /// The policy.
    pub policy: PolicyBody,
}
