//! Schemas of the Vault-Transit-compatible API (`/v1/...`), which answers in Vault's shapes
//! rather than ours: the eight-field envelope on success, `{"errors": [...]}` on failure.
//! Like `records.rs`, these mirror what the handlers (which parse raw bodies the way Vault
//! does) accept and return, for the document only.

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};

/// The Vault response envelope; every field is always present.
#[derive(Debug, ToSchema)]
pub struct VaultResponse {
    /// A UUID-format id (the request's `X-Request-ID` in UUID form).
    pub request_id: String,
    /// Always empty.
    pub lease_id: String,
    /// Always false.
    pub renewable: bool,
    /// Always 0.
    pub lease_duration: i64,
    /// The operation's result.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub wrap_info: Option<serde_json::Value>,
    /// Null, or notes such as ignored unknown fields.
    pub warnings: Option<Vec<String>>,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub auth: Option<serde_json::Value>,
}

/// A Vault error: `{"errors": [...]}` (an empty list for a read of something missing).
#[derive(Debug, ToSchema)]
pub struct VaultErrors {
    /// Messages; never contain request data or secrets.
    pub errors: Vec<String>,
}

/// `POST keys/:name`.
#[derive(Debug, ToSchema)]
pub struct CreateKeyBody {
    /// `aes256-gcm96` (default) or `chacha20-poly1305`.
    #[schema(example = "aes256-gcm96")]
    pub r#type: Option<String>,
    /// Every operation must then send a base64 `context` that enters the key.
    pub derived: Option<bool>,
    /// Deterministic encryption; requires `derived`.
    pub convergent_encryption: Option<bool>,
    /// Must be false: CryptoServe never exports key material.
    pub exportable: Option<bool>,
    /// Seconds, or a duration such as `24h` (0 = never; else at least an hour).
    #[schema(value_type = Option<String>, example = "24h")]
    pub auto_rotate_period: Option<String>,
}

/// `POST keys/:name/config`.
#[derive(Debug, ToSchema)]
pub struct KeyConfigBody {
    /// Oldest version accepted for decryption (0 is taken as 1).
    #[schema(minimum = 0)]
    pub min_decryption_version: Option<i64>,
    /// Oldest version encryption may name (0 = latest only rule).
    #[schema(minimum = 0)]
    pub min_encryption_version: Option<i64>,
    /// Whether the key may be deleted.
    pub deletion_allowed: Option<bool>,
    /// Seconds, or a duration such as `24h`.
    #[schema(value_type = Option<String>)]
    pub auto_rotate_period: Option<String>,
}

/// One item of `batch_input`, and the single-request fields.
#[derive(Debug, ToSchema)]
pub struct CryptoItem {
    /// Standard base64 (encrypt).
    #[schema(format = Byte)]
    pub plaintext: Option<String>,
    /// `vault:v<N>:...` (decrypt, rewrap).
    pub ciphertext: Option<String>,
    /// Standard base64; required for derived keys.
    #[schema(format = Byte)]
    pub context: Option<String>,
    /// Standard base64 associated data.
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
    /// Version to encrypt or rewrap under (0 = latest).
    #[schema(minimum = 0)]
    pub key_version: Option<i64>,
    /// Echoed back in the item's result.
    pub reference: Option<String>,
}

/// `POST encrypt|decrypt|rewrap/:name`: the single-request fields, or `batch_input`.
#[derive(Debug, ToSchema)]
pub struct CryptoBody {
    /// Single request.
    #[serde(flatten)]
    pub item: CryptoItem,
    /// Many items, answered in order in `data.batch_results`.
    pub batch_input: Option<Vec<CryptoItem>>,
    /// Status for a batch where some (not all) items failed (default 400).
    #[schema(minimum = 200, maximum = 299, example = 207)]
    pub partial_failure_response_code: Option<i64>,
    /// Upsert on encrypt: the type of a key created by this request.
    pub r#type: Option<String>,
}

/// `POST datakey/:kind/:name`.
#[derive(Debug, ToSchema)]
pub struct DataKeyBody {
    /// 128, 256 (default) or 512.
    #[schema(example = 256)]
    pub bits: Option<i64>,
    /// Standard base64; required for derived keys.
    #[schema(format = Byte)]
    pub context: Option<String>,
}

/// `POST sys/mounts/:path`.
#[derive(Debug, ToSchema)]
pub struct EnableMountBody {
    /// Only `transit` (at the configured mount) is accepted.
    #[schema(example = "transit")]
    pub r#type: String,
}

/// A 400 from encrypt or decrypt: a plain error, or (when any `batch_input` item failed)
/// the full envelope with `data.batch_results`, as Vault answers.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum VaultBadRequest {
    /// `{"errors": [...]}`.
    Errors(VaultErrors),
    /// A batch with failed items.
    Batch(VaultResponse),
}

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("VaultErrors")))
                    .build(),
            )
            .build(),
    )
}

/// The failures every Transit route can answer, in Vault's shape and status codes.
#[derive(Debug)]
pub struct VaultFailures;

impl IntoResponses for VaultFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        failures()
    }
}

/// [`VaultFailures`] for encrypt and decrypt, whose 400 may also be a batch envelope.
#[derive(Debug)]
pub struct VaultBatchFailures;

impl IntoResponses for VaultBatchFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = failures();
        responses.insert(
            "400".into(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(
                        "A user error (`{\"errors\":[...]}`), or a batch in which items failed \
                         (the envelope with `data.batch_results`)",
                    )
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("VaultBadRequest")))
                            .build(),
                    )
                    .build(),
            ),
        );
        responses
    }
}

fn failures() -> BTreeMap<String, RefOr<Response>> {
    {
        [
            (400, "A user error: bad base64, missing field, unknown key on decrypt, version policy, decryption failure"),
            (403, "No token, an invalid or revoked one, or a token without the capability (Vault never answers 401)"),
            (404, "A read of a missing key (`{\"errors\":[]}`), or an unsupported path or key name"),
            (405, "A known path called with the wrong method"),
            (413, "The body is larger than CRYPTOSERVE_BODY_LIMIT"),
            (429, "A rate limit refused the request; see `Retry-After`"),
            (503, "The database is unavailable for a key-management change"),
        ]
        .into_iter()
        .map(|(status, description)| (status.to_string(), error(description)))
        .collect()
    }
}
