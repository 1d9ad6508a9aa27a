//! Contexts and their key versions: the records `/api/admin/contexts` returns and the bodies
//! it takes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Algorithm, KeyStatus};

/// An encryption context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextRecord {
    /// Unique name.
    pub name: String,
    /// Free text for operators.
    pub description: String,
    /// AEAD used for this context's data.
    pub algorithm: Algorithm,
    /// Version new ciphertexts are written with.
    pub current_version: i32,
    /// Oldest version still accepted for decryption.
    pub min_decryption_version: i32,
    /// Oldest version an encryption may name explicitly (0 = no minimum).
    pub min_encryption_version: i32,
    /// Every operation supplies a per-request derivation context that enters the key.
    pub derived: bool,
    /// Deterministic encryption (the nonce is derived from the associated data and the
    /// plaintext); requires `derived`.
    pub convergent: bool,
    /// Whether the context may be deleted.
    pub deletion_allowed: bool,
    /// Seconds after which the current version is rotated automatically (0 = never).
    pub auto_rotate_period_secs: i64,
    /// Random, non-secret id that enters key derivation (null for contexts created before
    /// generation ids existed).
    pub generation_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last rotation or policy change.
    pub updated_at: DateTime<Utc>,
}

impl ContextRecord {
    /// The four attributes together, as the store takes them at creation.
    pub fn attributes(&self) -> ContextAttributes {
        ContextAttributes {
            derived: self.derived,
            convergent: self.convergent,
            deletion_allowed: self.deletion_allowed,
            auto_rotate_period_secs: self.auto_rotate_period_secs,
        }
    }
}

/// Attributes fixed at creation (`derived`, `convergent`) or changeable later
/// (`deletion_allowed`, `auto_rotate_period_secs`). A [`ContextRecord`] carries them as
/// top-level fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextAttributes {
    /// Every operation supplies a per-request derivation context that enters the key.
    pub derived: bool,
    /// Deterministic encryption: the nonce is derived from the plaintext (requires `derived`).
    pub convergent: bool,
    /// Whether the context may be deleted.
    pub deletion_allowed: bool,
    /// Rotate automatically this many seconds after the current version was created (0 = never).
    pub auto_rotate_period_secs: i64,
}

/// One key version of a context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyVersionRecord {
    /// Owning context.
    pub context_name: String,
    /// Version number, from 1.
    pub version: i32,
    /// Fingerprint of the master key this version derives from.
    pub master_key_id: String,
    /// What the version may be used for.
    pub status: KeyStatus,
    /// When the version was created.
    pub created_at: DateTime<Utc>,
}

/// Create body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateContext {
    /// `^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$`
    #[schema(value_type = crate::ContextName)]
    pub name: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `aes-256-gcm` (default) or `chacha20-poly1305`.
    // Text rather than `Algorithm`: an unknown value is answered `invalid_request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Algorithm>)]
    pub algorithm: Option<String>,
    /// Every operation must supply a per-request derivation context (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived: Option<bool>,
    /// Deterministic encryption; requires `derived` (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergent: Option<bool>,
    /// Whether the context may be deleted (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_allowed: Option<bool>,
    /// Rotate automatically after this many seconds (0 = never, else at least 3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub auto_rotate_period_secs: Option<i64>,
}

impl CreateContext {
    /// A context named `name` with every option at its default.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Configuration body: each field present is changed, each absent one kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigureContext {
    /// Oldest version still decryptable (1..=current).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub min_decryption_version: Option<i32>,
    /// Oldest version an encryption may name (0 = no minimum, else min_decryption..=current).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub min_encryption_version: Option<i32>,
    /// Whether the context may be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_allowed: Option<bool>,
    /// Rotate automatically after this many seconds (0 = never, else at least 3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub auto_rotate_period_secs: Option<i64>,
}

/// A context with its key versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextDetail {
    /// The context.
    #[serde(flatten)]
    pub context: ContextRecord,
    /// Its versions, oldest first.
    pub key_versions: Vec<KeyVersionRecord>,
}

/// List body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextList {
    /// Every context.
    pub contexts: Vec<ContextRecord>,
}

/// Minimum-version body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MinVersion {
    /// Oldest version still decryptable.
    #[schema(example = 1)]
    pub version: u32,
}
