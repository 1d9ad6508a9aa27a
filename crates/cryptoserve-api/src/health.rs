//! Bodies of the health probes: `/health/live`, `/health/ready` and `/health/deep`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// `ok`, `degraded` or `failed`.
    #[schema(example = "ok")]
    pub status: String,
    /// How long the check took.
    pub latency_ms: f64,
    /// Extra facts.
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// `/health/live` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Live {
    /// Always `alive`.
    #[schema(example = "alive")]
    pub status: String,
    /// Which instance answered.
    pub instance_id: String,
    /// Server version.
    pub version: String,
}

/// `/health/ready` body, with 200 or 503.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    /// `ready`; `degraded` (still 200) while the database is unreachable but the metadata
    /// cache is younger than `CRYPTOSERVE_METADATA_MAX_STALENESS`; or `not_ready` (503).
    #[schema(example = "ready")]
    pub status: String,
    /// Which instance answered.
    pub instance_id: String,
    /// True once shutdown has begun.
    pub draining: bool,
    /// Seconds since the metadata cache last reached the database (how old its view of
    /// revocations and policy changes may be); absent before the first load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_age_secs: Option<f64>,
    /// The individual checks.
    pub checks: ReadyChecks,
}

/// The checks behind readiness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReadyChecks {
    /// The database answers.
    pub database: Check,
    /// Contexts and revocations are loaded and no older than
    /// `CRYPTOSERVE_METADATA_MAX_STALENESS`.
    pub keyring: Check,
    /// Redis (`degraded` does not fail readiness).
    pub redis: Check,
}

/// `/health/deep` body, with 200 or 503.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deep {
    /// `healthy` or `unhealthy`.
    #[schema(example = "healthy")]
    pub status: String,
    /// Which instance answered.
    pub instance_id: String,
    /// Server version.
    pub version: String,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// True once shutdown has begun.
    pub draining: bool,
    /// Database backend, check and pool.
    pub database: DeepDatabase,
    /// Redis (or local) rate-limiter check.
    pub redis: Check,
    /// Encrypt and decrypt of a fixed message under a derived test key.
    pub crypto_self_test: Check,
    /// Master keys.
    pub keyring: DeepKeyring,
    /// The metadata cache.
    pub metadata: DeepMetadata,
    /// Environment and configuration warnings.
    pub configuration: DeepConfiguration,
    /// The main listener's TLS.
    pub tls: DeepTls,
}

/// TLS part of `/health/deep`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeepTls {
    /// Whether the main listener serves TLS.
    pub enabled: bool,
    /// `on`, `off` (set explicitly with `CRYPTOSERVE_TLS=off`) or `not_configured`
    /// (development without a certificate).
    #[schema(example = "on")]
    pub mode: String,
    /// Whether clients must present a certificate (mutual TLS).
    pub client_auth: bool,
    /// Subject of the served certificate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_subject: Option<String>,
    /// When the served certificate expires (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_not_after: Option<String>,
    /// Whole days until then (negative once expired).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_days_left: Option<i64>,
    /// Why the last reload failed (the previous certificate is still served).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reload_error: Option<String>,
}

/// Database part of `/health/deep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeepDatabase {
    /// `postgres` or `sqlite`.
    pub backend: String,
    /// Whether the URL says the connection goes through PgBouncer (`pgbouncer=true`); the
    /// round trip below then reaches PostgreSQL through it.
    #[serde(default)]
    pub pgbouncer: bool,
    /// Round trip to the database.
    pub check: Check,
    /// Connection pool usage.
    pub pool: PoolStatus,
}

/// A snapshot of the database connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// Keyring part of `/health/deep` (ids only, never key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeepKeyring {
    /// Fingerprint of the master key new key versions derive from.
    pub active_master_key_id: String,
    /// Every loaded master key's fingerprint.
    pub master_key_ids: Vec<String>,
    /// Derived context keys currently cached.
    pub cached_derived_keys: usize,
}

/// Metadata-cache part of `/health/deep`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeepMetadata {
    /// Contexts cached.
    pub contexts: usize,
    /// Whether the last reload from the database succeeded.
    pub last_refresh_ok: bool,
}

/// Configuration part of `/health/deep`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeepConfiguration {
    /// `development` or `production`.
    pub environment: String,
    /// Settings an operator should look at.
    pub warnings: Vec<String>,
}
