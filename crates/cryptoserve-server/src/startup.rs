//! Building and running the application: [`Application::build`] wires everything and binds
//! the listener; [`Application::run_until_stopped`] serves until SIGTERM/SIGINT and shuts down
//! gracefully. Tests run exactly this, on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

use cryptoserve_core::derive::derive_service_key;
use cryptoserve_core::Cipher;
use cryptoserve_ratelimit::{Limiter, LocalLimiter, RedisLimiter, RedisLimiterConfig};
use cryptoserve_store::{AuditKey, PoolSettings, Store};
use secrecy::ExposeSecret;

use crate::auth::TokenService;
use crate::client_ip::ClientIpResolver;
use crate::config::{secrets, FailMode, Settings, TlsMode};
use crate::lifecycle::Lifecycle;
use crate::metadata::MetadataCache;
use crate::metrics::Metrics;
use crate::middleware::{json_error, not_found, request_id_and_errors};
use crate::rate_limit::{RateLimiting, WorkerLane};
use crate::state::AppState;
use crate::tls::{ServerTls, TlsFiles};
use crate::usage::{UsageRecorder, FLUSH_INTERVAL};
use crate::{routes, shutdown, sync};

/// Options that are about this start, not the deployment.
#[derive(Debug, Clone, Copy)]
pub struct StartOptions {
    /// Run migrations before serving (the default; `serve --no-migrate` turns it off).
    pub migrate: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self { migrate: true }
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    ops_port: Option<u16>,
    server: Server,
    /// The plain listener for probes and scrapers (`CRYPTOSERVE_OPS_LISTEN`).
    ops_server: Option<Server>,
    state: Arc<AppState>,
    shutdown_tx: watch::Sender<bool>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish()
    }
}

/// Connects to the store described by `settings` (used by `serve`, `migrate` and the CLI).
pub async fn connect_store(
    settings: &Settings,
    resolved: &secrets::ResolvedSecrets,
) -> anyhow::Result<Store> {
    let audit_key = derive_service_key(resolved.keyring.active(), &resolved.salt, "audit-log-mac")?;
    // Rows written before a master key rotation were signed with the old key's audit key:
    // they keep verifying while that key is configured in CRYPTOSERVE_PREVIOUS_MASTER_KEYS.
    let mut previous_audit_keys = Vec::new();
    for id in resolved.keyring.ids().into_iter().skip(1) {
        if let Some(key) = resolved.keyring.get(id) {
            previous_audit_keys.push(*derive_service_key(key, &resolved.salt, "audit-log-mac")?);
        }
    }
    let pool = PoolSettings {
        pool_size: settings.db_pool_size,
        max_overflow: settings.db_max_overflow,
        recycle: Duration::from_secs(settings.db_pool_recycle),
        ..PoolSettings::default()
    };
    let store = Store::connect(
        resolved.database_url.expose_secret(),
        &pool,
        AuditKey::new(*audit_key).with_previous(previous_audit_keys),
    )
    .await?;
    crate::audit_log::feed_committed_rows(&store);
    Ok(store)
}

impl Application {
    /// Binds `settings.listen` and builds.
    pub async fn build(settings: Settings, options: StartOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        Self::build_with_listener(settings, options, listener).await
    }

    /// Builds on an already bound listener (port 0 in tests).
    pub async fn build_with_listener(
        settings: Settings,
        options: StartOptions,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let resolved = secrets::resolve(&settings)?;
        for warning in &resolved.warnings {
            tracing::warn!("{warning}");
        }
        let tls_mode = settings.tls_mode()?;
        let store = connect_store(&settings, &resolved).await?;
        if options.migrate {
            store.migrate().await?;
        }
        let instance_id = settings.instance_id();
        let limiter = match &settings.redis_url {
            Some(url) => {
                let mut config = RedisLimiterConfig::new(url.expose_secret());
                config.timeout = Duration::from_millis(settings.redis_timeout_ms);
                config.fallback_instances = settings.rate_limit_fallback_instances;
                config.lease = Duration::from_millis(settings.rate_limit_lease_ms);
                config.fail_mode = match settings.rate_limit_fail_mode {
                    FailMode::Open => cryptoserve_ratelimit::FailMode::Open,
                    FailMode::Closed => cryptoserve_ratelimit::FailMode::Closed,
                };
                Limiter::Redis(RedisLimiter::connect(config).await?)
            }
            None => Limiter::Local(LocalLimiter::new()),
        };
        let cipher = Arc::new(Cipher::new(resolved.keyring.clone(), resolved.salt.clone()));
        let tokens = TokenService::new(
            &resolved.jwt_secret,
            &settings.jwt_issuer,
            &settings.jwt_audience,
        )
        .with_previous_secrets(&resolved.previous_jwt_secrets);
        let metadata = Arc::new(MetadataCache::new());
        metadata.refresh(&store).await?;
        let metrics = Arc::new(Metrics::new(&instance_id)?);
        let tls = match tls_mode {
            TlsMode::On {
                cert,
                key,
                client_ca,
            } => {
                let files = TlsFiles {
                    cert,
                    key,
                    client_ca,
                };
                Some(Arc::new(ServerTls::load(files, metrics.tls.clone())?))
            }
            TlsMode::Off { explicit: true } => {
                tracing::warn!(
                    "TLS is off (CRYPTOSERVE_TLS=off): requests, tokens and plaintext cross the \
                     network in the clear unless a proxy on this host or a service mesh encrypts them"
                );
                None
            }
            TlsMode::Off { explicit: false } => {
                tracing::warn!(
                    "no CRYPTOSERVE_TLS_CERT: serving plain HTTP (development only; \
                     `cryptoserve tls dev-cert` writes a development certificate)"
                );
                None
            }
        };
        let state = Arc::new(AppState {
            live_body: crate::routes::health::live_body(&instance_id),
            instance_id: instance_id.clone(),
            cipher,
            store,
            metadata,
            tokens,
            rate_limits: Arc::new(RateLimiting::new(limiter)),
            client_ip: ClientIpResolver::new(settings.trusted_proxies.clone()),
            metrics,
            lifecycle: Arc::new(Lifecycle::new()),
            usage: Arc::new(UsageRecorder::new()),
            tls,
            settings,
        });
        sync::reload_policies(&state)
            .await
            .map_err(|e| anyhow::anyhow!("loading rate-limit policies: {e}"))?;

        let port = listener.local_addr()?.port();
        let data = web::Data::from(Arc::clone(&state));
        let body_limit = state.settings.body_limit;
        let transit_mount = state.settings.transit_mount.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                // Built once per worker: each worker's own Redis connection, made on first use.
                .app_data(web::Data::new(WorkerLane::default()))
                .app_data(
                    web::JsonConfig::default()
                        .limit(body_limit)
                        .error_handler(json_error(body_limit)),
                )
                .app_data(web::PayloadConfig::new(body_limit))
                .wrap(from_fn(request_id_and_errors))
                .configure(|cfg| routes::configure(cfg, &transit_mount))
                .default_service(web::to(not_found))
        })
        .on_connect(crate::auth::ConnectionToken::install)
        .disable_signals()
        .shutdown_timeout(state.settings.shutdown_timeout)
        .keep_alive(Duration::from_secs(75));
        if let Some(workers) = state.settings.workers {
            server = server.workers(workers.max(1));
        }
        // Subscribed before the first request, so no announcement can slip between.
        let announcements = sync::subscribe(&state);
        let server = match &state.tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls.server_config()?)?,
            None => server.listen(listener)?,
        }
        .run();
        let (ops_server, ops_port) = match state.settings.ops_listen {
            Some(addr) => {
                let (server, port) = ops_server(&state, addr)?;
                (Some(server), Some(port))
            }
            None => (None, None),
        };

        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut background = vec![
            tokio::spawn(sync::run(
                Arc::clone(&state),
                announcements,
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::contexts::auto_rotate(
                Arc::clone(&state),
                shutdown_rx.clone(),
            )),
            tokio::spawn(flush_usage_periodically(
                Arc::clone(&state),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::retention::run(
                Arc::clone(&state),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::audit_log::publish_checkpoints(
                Arc::clone(&state),
                shutdown_rx.clone(),
            )),
        ];
        if let Some(tls) = &state.tls {
            background.push(tokio::spawn(crate::tls::reload::run(
                Arc::clone(tls),
                state.settings.tls_reload_interval(),
                shutdown_rx,
            )));
        }
        Ok(Self {
            port,
            ops_port,
            server,
            ops_server,
            state,
            shutdown_tx,
            background,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ops listener's port, when `CRYPTOSERVE_OPS_LISTEN` is set.
    pub fn ops_port(&self) -> Option<u16> {
        self.ops_port
    }

    /// Serves until SIGTERM/SIGINT, then drains: readiness 503 at once, listener closed after
    /// the shutdown delay, in-flight requests finished (up to the shutdown timeout),
    /// background tasks stopped, connections closed.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let state = Arc::clone(&self.state);
        let signals = tokio::spawn(async move {
            let signal = shutdown::wait_for_signal().await;
            tracing::info!(signal, "shutdown requested: draining");
            state.lifecycle.start_draining();
            tokio::time::sleep(state.settings.shutdown_delay()).await;
            tracing::info!("closing the listener; finishing in-flight requests");
            handle.stop(true).await;
        });
        // Probes keep getting answers (readiness 503) while the main listener drains.
        let ops = self.ops_server.map(|server| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        self.server.await?;
        signals.abort();
        if let Some((handle, task)) = ops {
            handle.stop(true).await;
            let _ = task.await;
        }
        let _ = self.shutdown_tx.send(true);
        for task in self.background {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        // Last flush: everything counted until the last request finished.
        let written = self
            .state
            .usage
            .flush(&self.state.store, &self.state.metrics)
            .await;
        let left = self.state.usage.pending_rows().await;
        if left > 0 {
            tracing::error!(rows = left, "usage rows could not be written before exit");
        } else {
            tracing::info!(rows = written, "usage counters flushed");
        }
        if let Err(error) = self.state.store.close().await {
            tracing::warn!(%error, "closing the database pool");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The plain listener of `CRYPTOSERVE_OPS_LISTEN`: `/health/*` and `/metrics` only, one
/// worker, the same state (so readiness and draining are the main listener's).
fn ops_server(state: &Arc<AppState>, addr: std::net::SocketAddr) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (CRYPTOSERVE_OPS_LISTEN): {e}"))?;
    let port = listener.local_addr()?.port();
    let data = web::Data::from(Arc::clone(state));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(request_id_and_errors))
            .configure(routes::health::configure)
            .configure(routes::metrics::configure)
            .default_service(web::to(not_found))
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(state.settings.shutdown_timeout)
    .listen(listener)?
    .run();
    Ok((server, port))
}

async fn flush_usage_periodically(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                state.usage.flush(&state.store, &state.metrics).await;
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
        }
    }
}
