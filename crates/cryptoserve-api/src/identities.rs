//! Identities and tokens: the records `/api/admin/identities` returns and the bodies it and
//! `/api/admin/tokens/revoke` take.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Role;

/// The `allowed_contexts` entry that grants every context.
pub const ALL_CONTEXTS: &str = "*";

/// A caller that holds tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityRecord {
    /// UUID v4, also the `sub` of its tokens.
    pub id: String,
    /// Human-readable label.
    pub name: String,
    /// What the identity may do.
    pub role: Role,
    /// Context names it may use; `*` grants all.
    pub allowed_contexts: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set once revoked; revocation is permanent.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Create body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateIdentity {
    /// Label.
    pub name: String,
    /// `admin` or `service`.
    // Text rather than `Role`: an unknown value is answered `invalid_request`.
    #[schema(value_type = Role)]
    pub role: String,
    /// Allowed contexts (`["*"]` = all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contexts: Option<Vec<String>>,
    /// Lifetime in days (default 90).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

impl CreateIdentity {
    /// An identity named `name` with `role`, no contexts and the default lifetime.
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        Self {
            name: name.into(),
            role: role.as_str().to_owned(),
            contexts: None,
            expires_in_days: None,
        }
    }
}

/// Create answer: the identity and its token (shown once; store it safely).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedIdentity {
    /// The identity.
    pub identity: IdentityRecord,
    /// Its bearer token.
    pub token: String,
}

impl std::fmt::Debug for CreatedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedIdentity")
            .field("identity", &self.identity)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// List body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityList {
    /// Every identity.
    pub identities: Vec<IdentityRecord>,
}

/// Token revocation body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokeToken {
    /// The token to revoke (its signature must verify).
    pub token: String,
}

impl std::fmt::Debug for RevokeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeToken")
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Token revocation answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedToken {
    /// What was revoked.
    pub revoked: RevokedTokenIds,
}

/// The revoked token's ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedTokenIds {
    /// The token's id.
    pub jti: String,
    /// The identity it belongs to (which stays valid).
    pub identity_id: String,
}
