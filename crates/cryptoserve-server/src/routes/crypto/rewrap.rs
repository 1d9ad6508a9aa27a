//! `POST /api/v1/crypto/rewrap`: re-encrypt under the current version without the plaintext
//! ever leaving the server.

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{RewrapRequest, RewrapResponse};

use super::{decode_optional, CryptoCall};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Handler.
#[utoipa::path(
    post,
    path = "/api/v1/crypto/rewrap",
    tag = "crypto",
    operation_id = "rewrap",
    request_body = RewrapRequest,
    responses(
        (status = 200, description = "Re-encrypted under the current key version", body = RewrapResponse),
        (status = 400, description = "`decryption_failed`, `invalid_json`, `invalid_base64` or `invalid_request`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        (status = 404, description = "`unknown_context`: no such context", body = crate::openapi::ErrorBody),
        crate::openapi::BodyErrors,
        crate::openapi::RateLimited,
    ),
    security(("bearer" = []))
)]
pub async fn rewrap(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<RewrapRequest>,
) -> ApiResult<HttpResponse> {
    let mut call = CryptoCall::begin(&state, &req, &principal, &body.context, 1).await?;
    let ad = decode_optional(body.associated_data.as_deref(), "associated_data")?;
    call.refresh_for(&state, &body.ciphertext).await;
    let envelope = cryptoserve_core::text::decode_any(&body.ciphertext)
        .map_err(|_| ApiError::DecryptionFailed)?;
    let derivation = super::derivation(body.derivation_context.as_deref())?;
    match state.cipher.rewrap_with(
        &call.entry.spec,
        derivation.as_deref(),
        &envelope,
        &ad,
        None,
    ) {
        Ok(sealed) => {
            call.observe(&state, super::Operation::Rewrap, true, 0);
            Ok(call.respond(&RewrapResponse {
                ciphertext: sealed.to_text(),
                key_version: sealed.version.get(),
            }))
        }
        Err(error) => {
            call.observe(&state, super::Operation::Rewrap, false, 0);
            Err(error.into())
        }
    }
}
