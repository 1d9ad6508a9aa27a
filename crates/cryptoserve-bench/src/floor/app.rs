//! The floor server itself: actix-web with two routes and nothing else, the least a server on
//! our stack can do for `/health/live` and for a 256 B encrypt.
//!
//! - `GET /live` answers `{"status":"ok"}`.
//! - `POST /encrypt` takes the body `/api/v1/crypto/encrypt` takes (`{"context", "plaintext"}`,
//!   plaintext in standard base64), ignores the context and any `Authorization` header, seals
//!   the plaintext with AES-256-GCM under one key drawn at start and a fresh 12-byte nonce from
//!   `ring`'s `SystemRandom`, and answers `{"ciphertext": base64(nonce ‖ ciphertext ‖ tag)}`.
//!   Anything it cannot parse is a 400.
//!
//! No authentication, rate limits, metrics, logs or request ids: everything CryptoServe does
//! on top of this is what its rate ÷ the floor's measures. Workers are actix's default (one
//! per CPU), as the server's when `CRYPTOSERVE_WORKERS` is unset.

use std::borrow::Cow;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

/// The floor's one key and its random source, shared by every worker.
pub struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// A sealer under a fresh random 32-byte key; `None` if the OS random source fails.
    pub fn generate() -> Option<Sealer> {
        let random = SystemRandom::new();
        let mut key = [0u8; 32];
        random.fill(&mut key).ok()?;
        let key = UnboundKey::new(&aead::AES_256_GCM, &key).ok()?;
        Some(Sealer {
            key: LessSafeKey::new(key),
            random,
        })
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext`; `None` if no nonce could be drawn.
    pub fn seal(&self, plaintext: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        let tag_len = aead::AES_256_GCM.tag_len();
        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + tag_len);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                sealed.get_mut(NONCE_LEN..)?,
            )
            .ok()?;
        sealed.extend_from_slice(tag.as_ref());
        Some(sealed)
    }
}

/// The encrypt body; `context` (like any other field) is ignored.
#[derive(Deserialize)]
struct EncryptBody<'a> {
    #[serde(borrow)]
    plaintext: Cow<'a, str>,
}

async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

async fn encrypt(sealer: web::Data<Sealer>, body: web::Bytes) -> HttpResponse {
    let Ok(request) = serde_json::from_slice::<EncryptBody<'_>>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let Ok(plaintext) = STANDARD.decode(request.plaintext.as_bytes()) else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(sealed) = sealer.seal(&plaintext) else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut json = String::with_capacity(16 + sealed.len() * 4 / 3 + 4);
    json.push_str(r#"{"ciphertext":""#);
    STANDARD.encode_string(&sealed, &mut json);
    json.push_str(r#""}"#);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json)
}

/// The routes, for the binary and the tests.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/live", web::get().to(live))
        .route("/encrypt", web::post().to(encrypt));
}

/// The floor server on `listener` (not yet running: await it). Keep-alive as the server's.
pub fn build(listener: TcpListener, sealer: Sealer) -> std::io::Result<actix_web::dev::Server> {
    let sealer = web::Data::new(sealer);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(sealer.clone())
            // The server's body limit is far above 16 KiB too.
            .app_data(web::PayloadConfig::new(1 << 20))
            .configure(configure)
    })
    .keep_alive(Duration::from_secs(75))
    .listen(listener)?
    .run())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test as actix_test;

    #[test]
    fn sealed_output_opens_with_the_key() {
        let sealer = Sealer::generate().unwrap();
        let sealed = sealer.seal(b"attack at dawn").unwrap();
        assert_eq!(sealed.len(), 12 + 14 + 16);
        let (nonce, rest) = sealed.split_at(12);
        let mut rest = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
        let opened = sealer
            .key
            .open_in_place(nonce, Aad::empty(), &mut rest)
            .unwrap();
        assert_eq!(opened, b"attack at dawn");
        assert_ne!(sealer.seal(b"x").unwrap(), sealer.seal(b"x").unwrap());
    }

    #[actix_web::test]
    async fn routes_answer_and_refuse_bad_input() {
        let sealer = web::Data::new(Sealer::generate().unwrap());
        let app =
            actix_test::init_service(App::new().app_data(sealer.clone()).configure(configure))
                .await;
        let live = actix_test::call_service(
            &app,
            actix_test::TestRequest::get().uri("/live").to_request(),
        )
        .await;
        assert_eq!(live.status(), 200);
        assert_eq!(
            actix_test::read_body(live).await.as_ref(),
            br#"{"status":"ok"}"#
        );

        let body = format!(
            r#"{{"context":"bench","plaintext":"{}"}}"#,
            STANDARD.encode([7u8; 256])
        );
        let request = actix_test::TestRequest::post()
            .uri("/encrypt")
            .insert_header(("Authorization", "Bearer ignored"))
            .set_payload(body)
            .to_request();
        let answer: serde_json::Value = actix_test::call_and_read_body_json(&app, request).await;
        let ciphertext = answer["ciphertext"].as_str().unwrap();
        assert_eq!(STANDARD.decode(ciphertext).unwrap().len(), 12 + 256 + 16);

        for bad in [
            r#"{"plaintext":"not base64!"}"#,
            "not json",
            r#"{"context":"x"}"#,
        ] {
            let request = actix_test::TestRequest::post()
                .uri("/encrypt")
                .set_payload(bad)
                .to_request();
            assert_eq!(
                actix_test::call_service(&app, request).await.status(),
                400,
                "{bad}"
            );
        }
    }
}
