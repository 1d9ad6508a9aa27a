//! `POST /api/v1/crypto/batch/encrypt` and `.../batch/decrypt`: many items, one context,
//! per-item errors that do not fail the batch. A batch costs its item count in rate limits.
//!
//! Each item's result is written into the response body as soon as it is made
//! ([`Results`]), so a batch holds its request and its response, never a third copy of the
//! results as values: with many batches in flight that copy was the largest part of the
//! server's peak memory.

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{
    BatchRequest, BatchResponse, DecryptItem, EncryptItem, ItemError, ItemResult,
};
use serde::Serialize;

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

/// `{"results":[...]}` (the shape of [`BatchResponse`]) written one result at a time.
struct Results {
    body: Vec<u8>,
    empty: bool,
}

impl Results {
    /// Room for `items` results of about `per_item` bytes each.
    fn new(items: usize, per_item: usize) -> Self {
        let mut body = Vec::with_capacity(16 + items.saturating_mul(per_item));
        body.extend_from_slice(b"{\"results\":[");
        Self { body, empty: true }
    }

    fn push(&mut self, result: &impl Serialize) -> ApiResult<()> {
        if !self.empty {
            self.body.push(b',');
        }
        self.empty = false;
        serde_json::to_writer(&mut self.body, result)
            .map_err(|error| ApiError::Internal(format!("writing a batch result: {error}")))
    }

    fn respond(mut self, call: &CryptoCall) -> HttpResponse {
        self.body.extend_from_slice(b"]}");
        call.respond_json_bytes(self.body)
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
    // A result is about its plaintext's base64 plus the envelope and the field names.
    let per_item = body.items.first().map_or(0, |item| item.plaintext.len()) + 160;
    let mut results = Results::new(body.items.len(), per_item);
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
        results.push(&match sealed {
            Ok((sealed, bytes)) => {
                call.observe(&state, super::Operation::Encrypt, true, bytes);
                ItemResult {
                    ciphertext: Some(sealed.to_text()),
                    key_version: Some(sealed.version.get()),
                    ..ItemResult::new(id)
                }
            }
            Err(error) => failed(id, error),
        })?;
    }
    Ok(results.respond(&call))
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
    // A plaintext's base64 is shorter than its ciphertext text.
    let per_item = body.items.first().map_or(0, |item| item.ciphertext.len()) + 40;
    let mut results = Results::new(body.items.len(), per_item);
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
        results.push(&match opened {
            Ok(plaintext) => ItemResult {
                plaintext: Some(encode_base64(&plaintext)),
                ..ItemResult::new(id)
            },
            Err(error) => failed(id, error),
        })?;
    }
    Ok(results.respond(&call))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(results: &[ItemResult]) -> Vec<u8> {
        let mut writer = Results::new(results.len(), 8);
        for result in results {
            writer.push(result).unwrap();
        }
        writer.body.extend_from_slice(b"]}");
        writer.body
    }

    #[test]
    fn results_written_one_by_one_are_the_batch_response() {
        let results = [
            ItemResult {
                ciphertext: Some("cs1:v1:AAAA".into()),
                key_version: Some(1),
                ..ItemResult::new("a".into())
            },
            failed("b\"q".into(), ApiError::InvalidBase64("plaintext")),
            ItemResult {
                plaintext: Some("aGk=".into()),
                ..ItemResult::new("2".into())
            },
        ];
        for n in 0..=results.len() {
            let expected = serde_json::to_vec(&BatchResponse {
                results: results[..n].to_vec(),
            })
            .unwrap();
            assert_eq!(written(&results[..n]), expected, "{n} results");
        }
    }
}
