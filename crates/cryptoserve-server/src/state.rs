//! Everything a request handler can reach, shared by all workers behind `web::Data`.

use std::sync::Arc;

use cryptoserve_core::Cipher;
use cryptoserve_store::Store;

use crate::auth::TokenService;
use crate::client_ip::ClientIpResolver;
use crate::config::Settings;
use crate::lifecycle::Lifecycle;
use crate::metadata::MetadataCache;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiting;
use crate::tls::ServerTls;
use crate::usage::UsageRecorder;

/// Shared application state.
#[derive(Debug)]
pub struct AppState {
    /// Effective settings.
    pub settings: Settings,
    /// This instance's id (logs, metrics, health).
    pub instance_id: String,
    /// `/health/live`'s body, rendered once (`routes::health::live_body`).
    pub live_body: actix_web::web::Bytes,
    /// The crypto engine (keyring, salt, derived-key cache).
    pub cipher: Arc<Cipher>,
    /// Metadata store.
    pub store: Store,
    /// Cached contexts and revocations.
    pub metadata: Arc<MetadataCache>,
    /// JWT issuing and verification.
    pub tokens: TokenService,
    /// Rate limiter and policies.
    pub rate_limits: Arc<RateLimiting>,
    /// Client address resolution.
    pub client_ip: ClientIpResolver,
    /// Prometheus collectors.
    pub metrics: Arc<Metrics>,
    /// Start time and draining flag.
    pub lifecycle: Arc<Lifecycle>,
    /// Crypto usage counters, flushed to the database in batches.
    pub usage: Arc<UsageRecorder>,
    /// The main listener's TLS material; `None` when it serves plain HTTP.
    pub tls: Option<Arc<ServerTls>>,
}
