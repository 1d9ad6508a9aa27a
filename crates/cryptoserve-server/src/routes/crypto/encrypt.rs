//! `POST /api/v1/crypto/encrypt`

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{EncryptRequest, EncryptResponse};

use super::body::JsonObject;
use super::{decode_base64, decode_optional, CryptoCall};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Handler.
#[utoipa::path(
    post,
    path = "/api/v1/crypto/encrypt",
    tag = "crypto",
    operation_id = "encrypt",
    request_body = EncryptRequest,
    responses(
        (status = 200, description = "Encrypted under the context's current key version", body = EncryptResponse),
        (status = 400, description = "`invalid_json`, `invalid_base64` or `invalid_request`", body = crate::openapi::ErrorBody),
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
    body: web::Json<EncryptRequest>,
) -> ApiResult<HttpResponse> {
    let call = CryptoCall::begin(&state, &req, &principal, &body.context, 1).await?;
    let plaintext = decode_base64(&body.plaintext, "plaintext")?;
    let ad = decode_optional(body.associated_data.as_deref(), "associated_data")?;
    let derivation = super::derivation(body.derivation_context.as_deref())?;
    let key = cryptoserve_core::KeyRequest {
        version: None,
        derivation: derivation.as_deref(),
    };
    let sealed = state
        .cipher
        .seal_with(&call.entry.spec, key, &plaintext, &ad)
        .map_err(ApiError::from)?;
    call.observe(&state, super::Operation::Encrypt, true, plaintext.len());
    // The same fields as `EncryptResponse` (the documented schema), written directly.
    let ciphertext = sealed.to_text();
    Ok(call.respond_json(
        JsonObject::with_capacity(ciphertext.len() + 80)
            .string("ciphertext", &ciphertext)
            .number("key_version", u64::from(sealed.version.get()))
            .string("algorithm", sealed.algorithm.name()),
    ))
}
