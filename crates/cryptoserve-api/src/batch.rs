//! Bodies of `POST /api/v1/crypto/batch/{encrypt,decrypt}`: many items under one context,
//! with per-item errors that do not fail the batch.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One item to encrypt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EncryptItem {
    /// Caller's id for the item (default: its index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Base64 plaintext.
    #[schema(format = Byte, example = "aGVsbG8=")]
    pub plaintext: String,
    /// Optional base64 associated data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
}

/// One item to decrypt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecryptItem {
    /// Caller's id for the item (default: its index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `cs1:v...` ciphertext.
    pub ciphertext: String,
    /// Optional base64 associated data.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
}

/// Request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchRequest<T> {
    /// Context for every item.
    #[schema(value_type = crate::ContextName)]
    pub context: String,
    /// The items.
    pub items: Vec<T>,
}

/// One result: either the output field or an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemResult {
    /// The item's id.
    pub id: String,
    /// For encrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// For encrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_version: Option<u32>,
    /// For decrypt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub plaintext: Option<String>,
    /// Why this item failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

impl ItemResult {
    /// A result for item `id` with no output and no error yet.
    pub fn new(id: String) -> Self {
        Self {
            id,
            ciphertext: None,
            key_version: None,
            plaintext: None,
            error: None,
        }
    }
}

/// Per-item error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemError {
    /// Stable code, as in top-level errors.
    pub code: String,
    /// Explanation.
    pub message: String,
}

/// Response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// One result per item, in order.
    pub results: Vec<ItemResult>,
}
