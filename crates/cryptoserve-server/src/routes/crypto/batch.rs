//! `POST /api/v1/crypto/batch/encrypt` and `.../batch/decrypt`: many items, one context,
//! per-item errors that do not fail the batch. A batch costs its item count in rate limits.

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{
    BatchRequest, BatchResponse, DecryptItem, EncryptItem, ItemError, ItemResult,
};

use super::{decode_base64, decode_optional, encode_base64, CryptoCall};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn failed(id: String, error: ApiError) -> ItemResult {
    ItemResult {
        error: Some(ItemError {
            code: error.code().to_owned(),
            message: error.to_string(),
        }),
        ..ItemResult::new(id)
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
            Err(error) => failed(id, error),
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
            Err(error) => failed(id, error),
        });
    }
    Ok(call.respond(&BatchResponse { results }))
}
