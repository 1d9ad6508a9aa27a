//! Bodies of `POST /api/v1/crypto/{encrypt,decrypt,rewrap,datakey}`. Binary values are
//! base64 strings (standard alphabet, with padding).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Algorithm;

/// Encrypt request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Request body.")]
pub struct EncryptRequest {
    /// Context name.
    #[schema(value_type = crate::ContextName)]
    pub context: String,
    /// Base64 plaintext.
    #[schema(format = Byte, example = "aGVsbG8=")]
    pub plaintext: String,
    /// Optional base64 associated data, required again to decrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
    /// Base64 derivation context, required for a context created with `derived` (each value
    /// gets an independent key; the same bytes are needed to decrypt). Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub derivation_context: Option<String>,
}

/// Encrypt response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Response body.")]
pub struct EncryptResponse {
    /// `cs1:v<version>:...`
    pub ciphertext: String,
    /// Context key version used.
    pub key_version: u32,
    /// Algorithm used.
    pub algorithm: Algorithm,
}

/// Decrypt request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Request body.")]
pub struct DecryptRequest {
    /// Context name.
    #[schema(value_type = crate::ContextName)]
    pub context: String,
    /// `cs1:v<version>:...` as returned by encrypt.
    pub ciphertext: String,
    /// The base64 associated data given at encryption, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
    /// Base64 derivation context, required for a context created with `derived` (each value
    /// gets an independent key; the same bytes are needed to decrypt). Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub derivation_context: Option<String>,
}

/// Decrypt response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Response body.")]
pub struct DecryptResponse {
    /// Base64 plaintext.
    #[schema(format = Byte)]
    pub plaintext: String,
}

/// Rewrap request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Request body.")]
pub struct RewrapRequest {
    /// Context name.
    #[schema(value_type = crate::ContextName)]
    pub context: String,
    /// Ciphertext under any still-accepted version.
    pub ciphertext: String,
    /// The base64 associated data given at encryption, if any (kept for the new ciphertext).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
    /// Base64 derivation context, required for a context created with `derived` (each value
    /// gets an independent key; the same bytes are needed to decrypt). Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub derivation_context: Option<String>,
}

/// Rewrap response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Response body.")]
pub struct RewrapResponse {
    /// Ciphertext under the current version and active master key.
    pub ciphertext: String,
    /// The version it is now under.
    pub key_version: u32,
}

/// Data-key request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Request body.")]
pub struct DataKeyRequest {
    /// Context name.
    #[schema(value_type = crate::ContextName)]
    pub context: String,
    /// 128, 256 or 512 (default 256).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 256)]
    pub bits: Option<u32>,
    /// Whether to return the plaintext key too (default true). Without it, the caller stores
    /// the wrapped key and unwraps it later with decrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_plaintext: Option<bool>,
    /// Base64 derivation context, required for a context created with `derived` (each value
    /// gets an independent key; the same bytes are needed to decrypt). Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub derivation_context: Option<String>,
}

/// Data-key response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(description = "Response body.")]
pub struct DataKeyResponse {
    /// The key sealed under the context key (`cs1:v...`); decrypt it to get the key.
    pub wrapped_key: String,
    /// Base64 key bytes, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub plaintext_key: Option<String>,
    /// Context key version used.
    pub key_version: u32,
    /// Key size in bits.
    pub bits: u32,
}
