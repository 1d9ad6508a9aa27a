//! `POST /api/v1/crypto/batch/encrypt` and `.../batch/decrypt`: many items, one context,
//! per-item errors that do not fail the batch. A batch costs its item count in rate limits.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{decode_base64, decode_optional, encode_base64, CryptoCall};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// One item to encrypt.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EncryptItem {
    /// Caller's id for the item (default: its index).
    pub id: Option<String>,
    /// Base64 plaintext.
    #[schema(format = Byte, example = "aGVsbG8=")]
    pub plaintext: String,
    /// Optional base64 associated data.
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
}

/// One item to decrypt.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DecryptItem {
    /// Caller's id for the item (default: its index).
    pub id: Option<String>,
    /// `cs1:v...` ciphertext.
    pub ciphertext: String,
    /// Optional base64 associated data.
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
}

/// Request body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest<T> {
    /// Context for every item.
    #[schema(value_type = crate::openapi::ContextName)]
    pub context: String,
    /// The items.
    pub items: Vec<T>,
}

/// One result: either the output field or an error.
#[derive(Debug, Serialize, ToSchema)]
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

/// Per-item error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemError {
    /// Stable code, as in top-level errors.
    pub code: &'static str,
    /// Explanation.
    pub message: String,
}

/// Response body.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One result per item, in order.
    pub results: Vec<ItemResult>,
}

impl ItemResult {
    fn new(id: String) -> Self {
        Self {
            id,
            ciphertext: None,
            key_version: None,
            plaintext: None,
            error: None,
        }
    }

    fn failed(id: String, error: ApiError) -> Self {
        Self {
            error: Some(ItemError {
                code: error.code(),
                message: error.to_string(),
            }),
            ..Self::new(id)
        }
    }
}

fn check_size<T>(state: &AppState, items: &[T]) -> ApiResult<u32> {
    let max = state.settings.max_batch_items;
    if items.is_empty() || items.len() > max {
        return Err(ApiError::InvalidRequest(format!(
            "`items` must hold between 1 and {max} items"
        )));
    }
    Ok(u32::try_from(items.len()).unwrap_or(u32::MAX))
}

/// Batch encrypt handler.
#[utoipa::path(
    post,
    path = "/api/v1/crypto/batch/encrypt",
    tag = "crypto",
    operation_id = "batch_encrypt",
    request_body = BatchRequest<EncryptItem>,
    responses(
        (status = 200, description = "One result per item, in order; failed items carry `error`", body = BatchResponse),
        (status = 400, description = "`invalid_request` (e.g. too many items) or `invalid_json`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        (status = 404, description = "`unknown_context`: no such context", body = crate::openapi::ErrorBody),
        crate::openapi::BodyErrors,
        crate::openapi::RateLimited,
    ),
    security(("bearer" = []))
)]
pub async fn encrypt(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<BatchRequest<EncryptItem>>,
) -> ApiResult<HttpResponse> {
    let cost = check_size(&state, &body.items)?;
    let call = CryptoCall::begin(&state, &req, &principal, &body.context, cost).await?;
    let mut results = Vec::with_capacity(body.items.len());
    for (index, item) in body.items.iter().enumerate() {
        let id = item.id.clone().unwrap_or_else(|| index.to_string());
        let sealed = decode_base64(&item.plaintext, "plaintext").and_then(|plaintext| {
            let ad = decode_optional(item.associated_data.as_deref(), "associated_data")?;
            let sealed = state
                .cipher
                .seal(&call.entry.spec, &plaintext, &ad)
                .map_err(ApiError::from)?;
            Ok((sealed, plaintext.len()))
        });
        results.push(match sealed {
            Ok((sealed, bytes)) => {
                call.observe(&state, super::Operation::Encrypt, true, bytes);
                ItemResult {
                    ciphertext: Some(sealed.to_text()),
                    key_version: Some(sealed.version.get()),
                    ..ItemResult::new(id)
                }
            }
            Err(error) => ItemResult::failed(id, error),
        });
    }
    Ok(call.respond(&BatchResponse { results }))
}

/// Batch decrypt handler.
#[utoipa::path(
    post,
    path = "/api/v1/crypto/batch/decrypt",
    tag = "crypto",
    operation_id = "batch_decrypt",
    request_body = BatchRequest<DecryptItem>,
    responses(
        (status = 200, description = "One result per item, in order; failed items carry `error`", body = BatchResponse),
        (status = 400, description = "`invalid_request` (e.g. too many items) or `invalid_json`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        (status = 404, description = "`unknown_context`: no such context", body = crate::openapi::ErrorBody),
        crate::openapi::BodyErrors,
        crate::openapi::RateLimited,
    ),
    security(("bearer" = []))
)]
pub async fn decrypt(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<BatchRequest<DecryptItem>>,
) -> ApiResult<HttpResponse> {
    let cost = check_size(&state, &body.items)?;
    let mut call = CryptoCall::begin(&state, &req, &principal, &body.context, cost).await?;
    if let Some(newest) = body.items.iter().max_by_key(|item| {
        cryptoserve_core::text::claimed_version(&item.ciphertext).map(|v| v.get())
    }) {
        call.refresh_for(&state, &newest.ciphertext).await;
    }
    let mut results = Vec::with_capacity(body.items.len());
    for (index, item) in body.items.iter().enumerate() {
        let id = item.id.clone().unwrap_or_else(|| index.to_string());
        let opened =
            decode_optional(item.associated_data.as_deref(), "associated_data").and_then(|ad| {
                state
                    .cipher
                    .open_text(&call.entry.spec, &item.ciphertext, &ad)
                    .map_err(ApiError::from)
            });
        call.observe(
            &state,
            super::Operation::Decrypt,
            opened.is_ok(),
            opened.as_ref().map_or(0, Vec::len),
        );
        results.push(match opened {
            Ok(plaintext) => ItemResult {
                plaintext: Some(encode_base64(&plaintext)),
                ..ItemResult::new(id)
            },
            Err(error) => ItemResult::failed(id, error),
        });
    }
    Ok(call.respond(&BatchResponse { results }))
}
