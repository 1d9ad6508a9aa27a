//! `POST /api/v1/crypto/decrypt`

use actix_web::{web, HttpRequest, HttpResponse};
use cryptoserve_api::{DecryptRequest, DecryptResponse};

use super::body::JsonObject;
use super::{decode_optional, encode_base64, CryptoCall};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// Handler.
#[utoipa::path(
    post,
    path = "/api/v1/crypto/decrypt",
    tag = "crypto",
    operation_id = "decrypt",
    request_body = DecryptRequest,
    responses(
        (status = 200, description = "The plaintext", body = DecryptResponse),
        (status = 400, description = "`decryption_failed` (deliberately uninformative), `invalid_json`, `invalid_base64` or `invalid_request`", body = crate::openapi::ErrorBody),
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
    body: web::Json<DecryptRequest>,
) -> ApiResult<HttpResponse> {
    let mut call = CryptoCall::begin(&state, &req, &principal, &body.context, 1).await?;
    let ad = decode_optional(body.associated_data.as_deref(), "associated_data")?;
    let derivation = super::derivation(body.derivation_context.as_deref())?;
    call.refresh_for(&state, &body.ciphertext).await;
    let opened = cryptoserve_core::text::decode_any(&body.ciphertext).and_then(|envelope| {
        state
            .cipher
            .open_with(&call.entry.spec, derivation.as_deref(), &envelope, &ad)
    });
    match opened {
        Ok(plaintext) => {
            call.observe(&state, super::Operation::Decrypt, true, plaintext.len());
            // `DecryptResponse`, written directly.
            let plaintext = encode_base64(&plaintext);
            Ok(call.respond_json(
                JsonObject::with_capacity(plaintext.len() + 16).string("plaintext", &plaintext),
            ))
        }
        Err(error) => {
            call.observe(&state, super::Operation::Decrypt, false, 0);
            Err(error.into())
        }
    }
}
