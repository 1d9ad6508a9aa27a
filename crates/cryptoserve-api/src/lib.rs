//! The wire types of CryptoServe's native HTTP API (`/api/...` and `/health/...`): every
//! request and response body, the records the admin API returns, the closed vocabularies
//! stored as text, and the one error body. The server serialises these, the store returns
//! them, the client deserialises them, and the OpenAPI document is generated from them, so
//! each shape has exactly one definition.
//!
//! The crate is plain data: serde, chrono and utoipa schemas, no HTTP stack and no database.
//! Binary values travel as base64 strings (the fields say which); the server's JSON field
//! names and shapes are fixed by `docs/openapi.json`.
//!
//! Layout (one endpoint family per file):
//! - `crypto.rs`: encrypt, decrypt, rewrap and datakey bodies; `batch.rs`: the batch forms.
//! - `contexts.rs`: context records, key versions and the context admin bodies.
//! - `identities.rs`: identity records and the identity and token admin bodies.
//! - `rate_limits.rs`: policy records and the rate-limit admin bodies.
//! - `audit.rs`, `usage.rs`: the audit chain and the usage counters, with their queries.
//! - `health.rs`: the `/health/live`, `/health/ready` and `/health/deep` bodies.
//! - `error_body.rs`: `{"error": {"code", "message", "request_id"}}`.
//! - `vocabulary.rs`: the text enums (algorithm, key status, role, rate-limit scope and
//!   dimension) with their one spelling each; `context_name.rs`: the schema of a context name.
//! - `error.rs`: [`Error`], what parsing a vocabulary value can fail with.
//!
//! ```
//! use cryptoserve_api::{EncryptRequest, Role};
//!
//! let body = EncryptRequest {
//!     context: "payments".into(),
//!     plaintext: "aGVsbG8=".into(),
//!     associated_data: None,
//!     derivation_context: None,
//! };
//! assert_eq!(
//!     serde_json::to_string(&body).unwrap(),
//!     r#"{"context":"payments","plaintext":"aGVsbG8="}"#
//! );
//! assert_eq!("service".parse::<Role>().unwrap(), Role::Service);
//! ```
#![forbid(unsafe_code)]

mod audit;
mod batch;
mod context_name;
mod contexts;
mod crypto;
mod error;
mod error_body;
mod health;
mod identities;
mod rate_limits;
mod usage;
mod vocabulary;

pub use audit::{
    AuditCheckpoint, AuditPage, AuditProblem, AuditProblemKind, AuditQuery, AuditRecord,
    AuditVerification, AuditVerifyRequest, CheckedCheckpoint, CheckpointSource,
};
pub use batch::{BatchRequest, BatchResponse, DecryptItem, EncryptItem, ItemError, ItemResult};
pub use context_name::{ContextName, CONTEXT_NAME_PATTERN};
pub use contexts::{
    ConfigureContext, ContextAttributes, ContextDetail, ContextList, ContextRecord, CreateContext,
    KeyVersionRecord, MinVersion,
};
pub use crypto::{
    DataKeyRequest, DataKeyResponse, DecryptRequest, DecryptResponse, EncryptRequest,
    EncryptResponse, RewrapRequest, RewrapResponse,
};
pub use error::Error;
pub use error_body::{ErrorBody, ErrorDetail};
pub use health::{
    Check, Deep, DeepConfiguration, DeepDatabase, DeepKeyring, DeepMetadata, DeepTls, Live,
    PoolStatus, Ready, ReadyChecks,
};
pub use identities::{
    CreateIdentity, CreatedIdentity, IdentityList, IdentityRecord, RevokeToken, RevokedToken,
    RevokedTokenIds, ALL_CONTEXTS,
};
pub use rate_limits::{
    OverrideScope, PolicyBody, PolicyInForce, PolicyList, RateLimitPolicyRecord, MAX_BURST_SIZE,
    MAX_REQUESTS_PER_MINUTE,
};
pub use usage::{UsageQuery, UsageReport, UsageRow};
pub use vocabulary::{Algorithm, KeyStatus, RateLimitDimension, RateLimitScope, Role};
