//! Schemas for the store's record types, which the server returns as they are.
//!
//! The store crate knows nothing of HTTP or OpenAPI, so these mirrors describe its
//! serialisation here. `tests/openapi.rs` serialises real records and checks that their keys
//! match these schemas, so a field added to the store cannot go undocumented silently.

use chrono::{DateTime, Utc};
use utoipa::ToSchema;

/// The AEAD a context encrypts with.
#[derive(Debug, ToSchema)]
pub enum Algorithm {
    /// AES-256 in Galois/Counter Mode.
    #[schema(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    #[schema(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
}

/// What a key version may still be used for.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum KeyStatus {
    /// The current version: encrypts and decrypts.
    Active,
    /// An older version still accepted for decryption.
    DecryptOnly,
    /// Below the context's minimum: refused.
    Retired,
}

/// What an identity may do.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Role {
    /// Manages contexts, identities and policies (and may use every context).
    Admin,
    /// Encrypts and decrypts in its allowed contexts.
    Service,
}

/// Which requests a rate-limit policy applies to.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum RateLimitScope {
    /// The fallback for everything.
    Default,
    /// One context (the policy key is its name).
    Context,
    /// One identity (the policy key is its id).
    Identity,
}

/// What a rate-limit bucket is keyed by.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum RateLimitDimension {
    /// Client IP address.
    Ip,
    /// Calling identity.
    Identity,
    /// Target context.
    Context,
}

/// An encryption context.
#[derive(Debug, ToSchema)]
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

/// One key version of a context.
#[derive(Debug, ToSchema)]
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

/// A caller that holds tokens.
#[derive(Debug, ToSchema)]
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

/// One stored rate-limit policy.
#[derive(Debug, ToSchema)]
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

/// One row of the tamper-evident admin audit log.
#[derive(Debug, ToSchema)]
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
#[derive(Debug, ToSchema)]
pub struct AuditVerification {
    /// Rows examined, including the first broken one.
    pub rows_checked: u64,
    /// True when every row's MAC and back-link are intact.
    pub ok: bool,
    /// The first row whose MAC or `prev_mac` does not match.
    pub first_broken_id: Option<i64>,
}

/// Operations of one kind in one minute.
#[derive(Debug, ToSchema)]
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

/// A snapshot of the database connection pool.
#[derive(Debug, ToSchema)]
pub struct PoolStatus {
    /// Open connections, idle or busy.
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// Connections currently lent out.
    pub in_use: u32,
    /// The most connections the pool will open.
    pub max: u32,
}
