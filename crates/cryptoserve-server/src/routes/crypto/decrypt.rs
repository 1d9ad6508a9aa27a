//! `POST /api/v1/crypto/decrypt`

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::JsonObject;
use super::{decode_optional, encode_base64, CryptoCall};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::state::AppState;

/// Request body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DecryptRequest {
    /// Context name.
    #[schema(value_type = crate::openapi::ContextName)]
    pub context: String,
    /// `cs1:v<version>:...` as returned by encrypt.
    pub ciphertext: String,
    /// The base64 associated data given at encryption, if any.
    #[schema(format = Byte)]
    pub associated_data: Option<String>,
}

/// Response body.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecryptResponse {
    /// Base64 plaintext.
    #[schema(format = Byte)]
    pub plaintext: String,
}

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
    call.refresh_for(&state, &body.ciphertext).await;
    match state
        .cipher
        .open_text(&call.entry.spec, &body.ciphertext, &ad)
    {
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
