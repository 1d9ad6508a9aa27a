//! `POST /api/v1/crypto/datakey`: a fresh data key, wrapped under the context key.

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{DataKeyRequest, DataKeyResponse};

use cryptoserve_core::DataKeySize;

use super::{encode_base64, CryptoCall};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Handler.
#[utoipa::path(
    post,
    path = "/api/v1/crypto/datakey",
    tag = "crypto",
    operation_id = "datakey",
    request_body = DataKeyRequest,
    responses(
        (status = 200, description = "A fresh data key, wrapped under the context key", body = DataKeyResponse),
        (status = 400, description = "`invalid_request` (e.g. `bits` not 128, 256 or 512) or `invalid_json`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        (status = 404, description = "`unknown_context`: no such context", body = crate::openapi::ErrorBody),
        crate::openapi::BodyErrors,
        crate::openapi::RateLimited,
    ),
    security(("bearer" = []))
)]
pub async fn datakey(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<DataKeyRequest>,
) -> ApiResult<HttpResponse> {
    let call = CryptoCall::begin(&state, &req, &principal, &body.context, 1).await?;
    let bits = body.bits.unwrap_or(256);
    let size = DataKeySize::from_bits(bits).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    let derivation = super::derivation(body.derivation_context.as_deref())?;
    let request = cryptoserve_core::KeyRequest {
        version: None,
        derivation: derivation.as_deref(),
    };
    let key = state
        .cipher
        .generate_data_key_with(&call.entry.spec, request, size)
        .map_err(ApiError::from)?;
    call.observe(&state, super::Operation::Datakey, true, 0);
    Ok(call.respond(&DataKeyResponse {
        wrapped_key: key.wrapped.to_text(),
        plaintext_key: body
            .include_plaintext
            .unwrap_or(true)
            .then(|| encode_base64(&key.plaintext)),
        key_version: key.wrapped.version.get(),
        bits,
    }))
}
