//! Health probes. No auth (except `/health/deep` in production) and no rate limits.
//!
//! - `/health/live`: the process answers; touches nothing.
//! - `/health/ready`: metadata loaded and fresh, not draining. If the database does not answer
//!   the instance still serves crypto from its metadata cache, so readiness stays 200 with
//!   `"status":"degraded"` until the cache is older than `CRYPTOSERVE_METADATA_MAX_STALENESS`
//!   (revocations and policy changes made since can no longer be seen), then 503. Redis
//!   trouble is reported as a `degraded` check but does not fail readiness, because the
//!   limiter falls back.
//! - `/health/deep`: everything an operator wants when something is off.

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use cryptoserve_api::{
    Check, Deep, DeepConfiguration, DeepDatabase, DeepKeyring, DeepMetadata, DeepTls, Live, Ready,
    ReadyChecks,
};

use crate::auth::AdminPrincipal;
use crate::config::Environment;
use crate::error::ApiResult;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// Registers the probes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready))
        .route("/health/deep", web::get().to(deep));
}

/// The probes' part of the API description.
#[derive(Debug, OpenApi)]
#[openapi(paths(live, ready, deep))]
pub struct HealthApi;

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    operation_id = "health_live",
    responses((status = 200, description = "The process answers", body = Live))
)]
async fn live(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.live_body.clone())
}

/// The body `/health/live` always answers with, rendered once per process.
pub fn live_body(instance_id: &str) -> actix_web::web::Bytes {
    serde_json::to_vec(&Live {
        status: "alive".to_owned(),
        instance_id: instance_id.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
    .unwrap_or_default()
    .into()
}

async fn database_check(state: &AppState) -> Check {
    let started = Instant::now();
    match tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await {
        Ok(Ok(_)) => Check {
            status: "ok".to_owned(),
            latency_ms: ms(started),
            detail: None,
        },
        Ok(Err(error)) => Check {
            status: "failed".to_owned(),
            latency_ms: ms(started),
            detail: Some(serde_json::json!({ "error": error.to_string() })),
        },
        Err(_) => Check {
            status: "failed".to_owned(),
            latency_ms: ms(started),
            detail: Some(serde_json::json!({ "error": "timed out" })),
        },
    }
}

async fn redis_check(state: &AppState) -> Check {
    let started = Instant::now();
    let health = tokio::time::timeout(CHECK_TIMEOUT, state.rate_limits.limiter.probe()).await;
    match health {
        Ok(health) => Check {
            status: if health.degraded { "degraded" } else { "ok" }.to_owned(),
            latency_ms: ms(started),
            detail: Some(serde_json::to_value(health).unwrap_or_default()),
        },
        Err(_) => Check {
            status: "degraded".to_owned(),
            latency_ms: ms(started),
            detail: Some(serde_json::json!({ "error": "timed out" })),
        },
    }
}

/// Metadata loaded, and refreshed from the database within the staleness bound.
fn keyring_check(state: &AppState, age: Option<Duration>) -> Check {
    let started = Instant::now();
    let loaded = state.metadata.is_loaded();
    let max_staleness = state.settings.metadata_max_staleness();
    let fresh = age.is_some_and(|age| age <= max_staleness);
    let mut detail = serde_json::json!({
        "master_key_id": state.cipher.keyring().active().id().to_string(),
        "metadata_loaded": loaded,
        "metadata_max_staleness_secs": max_staleness.as_secs(),
    });
    if loaded && !fresh {
        detail["error"] = serde_json::json!(
            "metadata not refreshed from the database within CRYPTOSERVE_METADATA_MAX_STALENESS: \
             revocations and policy changes may be missed"
        );
    }
    Check {
        status: if loaded && fresh { "ok" } else { "failed" }.to_owned(),
        latency_ms: ms(started),
        detail: Some(detail),
    }
}

/// Seconds, to a tenth.
fn secs(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10.0).round() / 10.0
}

#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    operation_id = "health_ready",
    responses(
        (status = 200, description = "Ready to serve: `ready`, or `degraded` while the database is down and the metadata cache is younger than `CRYPTOSERVE_METADATA_MAX_STALENESS`", body = Ready),
        (status = 503, description = "Not ready (metadata not loaded or older than `CRYPTOSERVE_METADATA_MAX_STALENESS`, or draining)", body = Ready),
    )
)]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (database, redis) = tokio::join!(database_check(&state), redis_check(&state));
    // Read after the database check: a refresh that succeeded meanwhile counts.
    let age = state.metadata.age();
    let keyring = keyring_check(&state, age);
    let draining = state.lifecycle.is_draining();
    let is_ready = keyring.status == "ok" && !draining;
    let status = match (is_ready, database.status == "ok") {
        (false, _) => "not_ready",
        (true, true) => "ready",
        (true, false) => "degraded",
    };
    let body = Ready {
        status: status.to_owned(),
        instance_id: state.instance_id.clone(),
        draining,
        metadata_age_secs: age.map(secs),
        checks: ReadyChecks {
            database,
            keyring,
            redis,
        },
    };
    if is_ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[utoipa::path(
    get,
    path = "/health/deep",
    tag = "health",
    operation_id = "health_deep",
    responses(
        (status = 200, description = "Healthy", body = Deep),
        (status = 503, description = "Unhealthy (database or crypto self-test failed)", body = Deep),
        crate::openapi::AuthErrors,
    ),
    security((), ("bearer" = []))
)]
async fn deep(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if state.settings.env == Environment::Production {
        // Pool sizes and versions are reconnaissance material: admins only.
        use actix_web::FromRequest;
        AdminPrincipal::extract(&req).await?;
    }
    let (database, redis) = tokio::join!(database_check(&state), redis_check(&state));
    let pool = state.store.pool_status();
    let started = Instant::now();
    let self_test = match state.cipher.self_test() {
        Ok(()) => Check {
            status: "ok".to_owned(),
            latency_ms: ms(started),
            detail: None,
        },
        Err(_) => Check {
            status: "failed".to_owned(),
            latency_ms: ms(started),
            detail: None,
        },
    };
    let settings = &state.settings;
    let mut warnings = Vec::new();
    if settings.env == Environment::Development {
        warnings.push("running in development mode");
    }
    if settings.redis_url.is_none() {
        warnings.push("no REDIS_URL: rate limits are per instance");
    }
    if settings.trusted_proxies.is_empty() {
        warnings.push("no CRYPTOSERVE_TRUSTED_PROXIES: X-Forwarded-For is ignored");
    }
    let tls = tls_report(&state);
    if !tls.enabled {
        warnings.push(if tls.mode == "off" {
            "TLS is off (CRYPTOSERVE_TLS=off): something else must encrypt this hop"
        } else {
            "no TLS certificate: serving plain HTTP"
        });
    }
    if tls.certificate_days_left.is_some_and(|days| days < 14) {
        warnings.push("the TLS certificate expires in less than 14 days");
    }
    if tls.reload_error.is_some() {
        warnings.push("the last TLS certificate reload failed");
    }
    let healthy = database.status == "ok" && self_test.status == "ok";
    let keyring = state.cipher.keyring();
    let body = Deep {
        status: if healthy { "healthy" } else { "unhealthy" }.to_owned(),
        instance_id: state.instance_id.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_secs: state.lifecycle.uptime_secs(),
        draining: state.lifecycle.is_draining(),
        database: DeepDatabase {
            backend: state.store.backend().to_owned(),
            pgbouncer: state.store.through_pgbouncer(),
            check: database,
            pool,
        },
        redis,
        crypto_self_test: self_test,
        keyring: DeepKeyring {
            active_master_key_id: keyring.active().id().to_string(),
            master_key_ids: keyring.ids().iter().map(ToString::to_string).collect(),
            cached_derived_keys: state.cipher.cached_keys(),
        },
        metadata: DeepMetadata {
            contexts: state.metadata.context_count(),
            last_refresh_ok: state.metadata.last_refresh_ok(),
        },
        configuration: DeepConfiguration {
            environment: format!("{:?}", settings.env).to_lowercase(),
            warnings: warnings.into_iter().map(str::to_owned).collect(),
        },
        tls,
    };
    Ok(if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    })
}

fn tls_report(state: &AppState) -> DeepTls {
    let Some(tls) = &state.tls else {
        let explicit = state.settings.tls == Some(crate::config::TlsSwitch::Off);
        return DeepTls {
            enabled: false,
            mode: if explicit { "off" } else { "not_configured" }.to_owned(),
            client_auth: false,
            certificate_subject: None,
            certificate_not_after: None,
            certificate_days_left: None,
            reload_error: None,
        };
    };
    let status = tls.status();
    let not_after = chrono::DateTime::from_timestamp(status.not_after, 0);
    DeepTls {
        enabled: true,
        mode: "on".to_owned(),
        client_auth: tls.client_auth(),
        certificate_subject: Some(status.subject),
        certificate_not_after: not_after.map(|t| t.to_rfc3339()),
        certificate_days_left: Some(
            (status.not_after - chrono::Utc::now().timestamp()).div_euclid(86_400),
        ),
        reload_error: status.reload_error,
    }
}
