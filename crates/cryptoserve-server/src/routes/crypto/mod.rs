//! Crypto routes and the steps every one of them shares.
//!
//! [`CryptoCall::begin`] runs the hot path's preamble in order: context name parsed, caller
//! allowed to use it (403), context known (404, from the cache), rate limits admitted (429).
//! The handler then decodes its input, calls the core, and answers with
//! [`CryptoCall::respond`], which adds the rate-limit headers.

mod batch;
pub(crate) mod body;
mod datakey;
mod decrypt;
mod encrypt;
mod rewrap;

use std::sync::Arc;

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use utoipa::OpenApi;

use cryptoserve_core::{text, ContextName};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::metadata::ContextEntry;
use crate::rate_limit::{RateHeaders, WorkerLane};
use crate::state::AppState;

/// Registers the crypto routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use super::resource;
    cfg.service(
        web::scope("/api/v1/crypto")
            .service(resource("/encrypt").route(web::post().to(encrypt::encrypt)))
            .service(resource("/decrypt").route(web::post().to(decrypt::decrypt)))
            .service(resource("/batch/encrypt").route(web::post().to(batch::encrypt)))
            .service(resource("/batch/decrypt").route(web::post().to(batch::decrypt)))
            .service(resource("/rewrap").route(web::post().to(rewrap::rewrap)))
            .service(resource("/datakey").route(web::post().to(datakey::datakey))),
    );
}

/// The crypto routes' part of the API description.
#[derive(Debug, OpenApi)]
#[openapi(paths(
    encrypt::encrypt,
    decrypt::decrypt,
    batch::encrypt,
    batch::decrypt,
    rewrap::rewrap,
    datakey::datakey
))]
pub struct CryptoApi;

/// A crypto operation, as counted in metrics and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `encrypt` and each item of `batch/encrypt`.
    Encrypt,
    /// `decrypt` and each item of `batch/decrypt`.
    Decrypt,
    /// `rewrap`.
    Rewrap,
    /// `datakey`.
    Datakey,
}

impl Operation {
    /// The `operation` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::Rewrap => "rewrap",
            Self::Datakey => "datakey",
        }
    }

    /// Index among the four operations.
    fn index(self) -> usize {
        self as usize
    }

    /// Index among the eight (operation, outcome) pairs.
    fn slot(self, ok: bool) -> usize {
        self.index() * 2 + usize::from(ok)
    }
}

/// The context name of the current request, stored for the request log line.
#[derive(Debug, Clone)]
pub struct LoggedContext(pub String);

/// An admitted crypto request.
#[derive(Debug)]
pub struct CryptoCall {
    /// The context it runs against.
    pub entry: Arc<ContextEntry>,
    headers: RateHeaders,
    identity: String,
}

impl CryptoCall {
    /// Authorises, resolves the context and admits the request (cost = items).
    pub async fn begin(
        state: &AppState,
        req: &HttpRequest,
        principal: &Principal,
        context: &str,
        cost: u32,
    ) -> ApiResult<Self> {
        let name =
            ContextName::parse(context).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        req.extensions_mut()
            .insert(LoggedContext(name.as_str().to_owned()));
        if !principal.may_use(name.as_str()) {
            return Err(ApiError::Forbidden(format!(
                "this identity may not use context `{name}`"
            )));
        }
        let entry = state
            .metadata
            .context_or_load(&state.store, name.as_str())
            .await
            .map_err(|error| {
                tracing::warn!(%error, "context lookup failed on a cache miss");
                ApiError::UnknownContext(name.as_str().to_owned())
            })?
            .ok_or_else(|| ApiError::UnknownContext(name.as_str().to_owned()))?;
        let entry = confirm_if_deletable(state, entry).await?;
        let ip = state.client_ip.resolve(req.peer_addr(), req.headers());
        let started = std::time::Instant::now();
        let admitted = state
            .rate_limits
            .admit(
                req.app_data::<web::Data<WorkerLane>>().map(|lane| &***lane),
                ip,
                principal.id(),
                name.as_str(),
                cost,
            )
            .await;
        state
            .metrics
            .rate_limit_latency
            .observe(started.elapsed().as_secs_f64());
        match admitted {
            Ok((headers, decision)) => {
                let source = decision.source;
                state
                    .metrics
                    .allowed_by_source
                    .get(
                        source as usize,
                        &state.metrics.rate_limit_decisions,
                        &[source.as_str(), "allowed"],
                    )
                    .inc();
                Ok(Self {
                    entry,
                    headers,
                    identity: principal.id().to_owned(),
                })
            }
            Err(error) => {
                if let ApiError::RateLimited { dimension, .. } = &error {
                    state
                        .metrics
                        .rate_limit_denials
                        .with_label_values(&[dimension])
                        .inc();
                    state
                        .metrics
                        .rate_limit_decisions
                        .with_label_values(&["any", "denied"])
                        .inc();
                }
                Err(error)
            }
        }
    }

    /// For decrypt paths: if the ciphertext names a version newer than the cached current one
    /// (rotated on another instance a moment ago), re-read the context once.
    pub async fn refresh_for(&mut self, state: &AppState, ciphertext: &str) {
        let Some(claimed) = text::claimed_version(ciphertext) else {
            return;
        };
        if claimed <= self.entry.spec.current_version {
            return;
        }
        if let Ok(Some(record)) = state
            .store
            .get_context(self.entry.record.name.as_str())
            .await
        {
            if let Some(entry) = state.metadata.put_context(record) {
                self.entry = entry;
            }
        }
    }

    /// Counts the operation in metrics and usage.
    pub fn observe(&self, state: &AppState, operation: Operation, ok: bool, bytes: usize) {
        let context = self.entry.spec.name.as_str();
        state
            .usage
            .record(&self.identity, context, operation.as_str(), ok, bytes);
        self.entry
            .operation_counters
            .get(
                operation.slot(ok),
                &state.metrics.crypto_operations,
                &[
                    operation.as_str(),
                    context,
                    self.entry.spec.algorithm.name(),
                    crate::usage::outcome(ok),
                ],
            )
            .inc();
        if ok {
            state
                .metrics
                .payload_by_operation
                .get(
                    operation.index(),
                    &state.metrics.payload_bytes,
                    &[operation.as_str()],
                )
                .inc_by(bytes as u64);
        }
    }

    /// 200 with the body and the rate-limit headers.
    pub fn respond(&self, body: &impl Serialize) -> HttpResponse {
        self.ok().json(body)
    }

    /// 200 with a body already written as JSON (see [`body::JsonObject`]) and the rate-limit
    /// headers.
    pub fn respond_json(&self, body: body::JsonObject) -> HttpResponse {
        self.respond_json_bytes(body.finish())
    }

    /// 200 with `body`, JSON text written by the route, and the rate-limit headers.
    pub fn respond_json_bytes(&self, body: Vec<u8>) -> HttpResponse {
        self.ok()
            .content_type(actix_web::http::header::ContentType::json())
            .body(body)
    }

    /// A 200 builder carrying the rate-limit headers (for routes that shape their own body).
    pub fn ok(&self) -> actix_web::HttpResponseBuilder {
        let mut response = HttpResponse::Ok();
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response
    }
}

/// A context whose `deletion_allowed` is set may be deleted on another instance at any moment,
/// and this instance's cache would only learn of it at its next refresh. So while the flag is
/// set (normally just before a deletion), every operation re-reads the context from the
/// database: no instance seals under, or opens with, a key that has just been deleted. With
/// the database unreachable the cached entry is used, as for every other context.
async fn confirm_if_deletable(
    state: &AppState,
    entry: Arc<ContextEntry>,
) -> ApiResult<Arc<ContextEntry>> {
    if !entry.record.deletion_allowed {
        return Ok(entry);
    }
    let name = entry.record.name.as_str();
    match state.store.get_context(name).await {
        Ok(Some(record)) => Ok(state.metadata.put_context(record).unwrap_or(entry)),
        Ok(None) => {
            state.metadata.remove_context(name);
            Err(ApiError::UnknownContext(name.to_owned()))
        }
        Err(error) => {
            tracing::warn!(%error, context = name, "could not re-read a deletable context; using the cache");
            Ok(entry)
        }
    }
}

/// Decodes a required standard-base64 field.
pub fn decode_base64(value: &str, field: &'static str) -> ApiResult<Vec<u8>> {
    STANDARD
        .decode(value)
        .map_err(|_| ApiError::InvalidBase64(field))
}

/// Decodes an optional standard-base64 field (absent = empty).
pub fn decode_optional(value: Option<&str>, field: &'static str) -> ApiResult<Vec<u8>> {
    value.map_or(Ok(Vec::new()), |v| decode_base64(v, field))
}

/// The optional base64 `derivation_context` (for contexts created with `derived`).
pub fn derivation(value: Option<&str>) -> ApiResult<Option<Vec<u8>>> {
    value
        .map(|text| decode_base64(text, "derivation_context"))
        .transpose()
}

/// Encodes bytes as standard base64.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
