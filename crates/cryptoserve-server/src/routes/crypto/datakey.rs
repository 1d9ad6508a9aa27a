//! `POST /api/v1/crypto/datakey`: a fresh data key, wrapped under the context key.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cryptoserve_core::DataKeySize;

use super::{encode_base64, CryptoCall};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Request body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DataKeyRequest {
    /// Context name.
    #[schema(value_type = crate::openapi::ContextName)]
    pub context: String,
    /// 128, 256 or 512 (default 256).
    #[schema(example = 256)]
    pub bits: Option<u32>,
    /// Whether to return the plaintext key too (default true). Without it, the caller stores
    /// the wrapped key and unwraps it later with decrypt.
    pub include_plaintext: Option<bool>,
}

/// Response body.
#[derive(Debug, Serialize, ToSchema)]
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
    let key = state
        .cipher
        .generate_data_key(&call.entry.spec, size)
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
