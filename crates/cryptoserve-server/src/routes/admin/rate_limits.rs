//! Rate-limit administration: defaults per dimension, overrides per context and identity,
//! and bucket resets. Changes are stored (so they survive restarts), applied here at once, and
//! announced to the other instances (Redis pub/sub, with periodic re-reads as a backstop).

use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::BTreeMap;

use cryptoserve_api::{
    OverrideScope, PolicyBody, PolicyInForce, PolicyList, MAX_BURST_SIZE, MAX_REQUESTS_PER_MINUTE,
};
use cryptoserve_ratelimit::{Dimension, Policy};
use cryptoserve_store::{RateLimitDimension, RateLimitScope};

use super::{audit_entry, audit_failure, resource};
use crate::auth::AdminPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::rate_limit::parse_dimension;
use crate::state::AppState;
use crate::sync;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    // `defaults/{dimension}` before `{scope}/{key}`, which would match it too.
    cfg.service(resource("/rate-limits").route(web::get().to(list)))
        .service(resource("/rate-limits/defaults/{dimension}").route(web::put().to(put_default)))
        .service(
            resource("/rate-limits/{scope}/{key}")
                .route(web::get().to(show))
                .route(web::put().to(put_override))
                .route(web::delete().to(delete_override)),
        )
        .service(resource("/rate-limits/reset/{dimension}/{key}").route(web::post().to(reset)));
}

fn policy_body(policy: Policy) -> PolicyBody {
    PolicyBody {
        requests_per_minute: policy.requests_per_minute,
        burst_size: policy.burst_size,
        enabled: policy.enabled,
    }
}

/// Refuses a policy outside the documented bounds (`requests_per_minute` and `burst_size`
/// between 1 and their maximum).
pub fn validate(policy: PolicyBody) -> ApiResult<PolicyBody> {
    if !(1..=MAX_REQUESTS_PER_MINUTE).contains(&policy.requests_per_minute) {
        return Err(ApiError::InvalidRequest(format!(
            "`requests_per_minute` must be between 1 and {MAX_REQUESTS_PER_MINUTE}"
        )));
    }
    if !(1..=MAX_BURST_SIZE).contains(&policy.burst_size) {
        return Err(ApiError::InvalidRequest(format!(
            "`burst_size` must be between 1 and {MAX_BURST_SIZE}"
        )));
    }
    Ok(policy)
}

/// Which override a path names: `context/{name}` or `identity/{id}`.
fn parse_scope(scope: &str) -> ApiResult<(RateLimitScope, RateLimitDimension)> {
    match scope {
        "context" => Ok((RateLimitScope::Context, RateLimitDimension::Context)),
        "identity" => Ok((RateLimitScope::Identity, RateLimitDimension::Identity)),
        _ => Err(ApiError::NotFound(
            "rate-limit overrides exist for `context/{name}` and `identity/{id}`".into(),
        )),
    }
}

fn parse_dim(text: &str) -> ApiResult<Dimension> {
    parse_dimension(text)
        .ok_or_else(|| ApiError::NotFound("dimensions are `ip`, `identity` and `context`".into()))
}

fn store_dimension(dimension: Dimension) -> RateLimitDimension {
    match dimension {
        Dimension::Ip => RateLimitDimension::Ip,
        Dimension::Identity => RateLimitDimension::Identity,
        Dimension::Context => RateLimitDimension::Context,
    }
}

fn check_key(key: &str) -> ApiResult<()> {
    if key.is_empty() || key.len() > 128 {
        return Err(ApiError::InvalidRequest(
            "the key must be 1-128 characters".into(),
        ));
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/admin/rate-limits",
    tag = "admin",
    operation_id = "list_rate_limits",
    responses(
        (status = 200, description = "Defaults and overrides in force", body = PolicyList),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
) -> ApiResult<HttpResponse> {
    sync::reload_policies(&state).await?;
    let set = state.rate_limits.policies();
    let map = |m: &std::collections::HashMap<String, Policy>| {
        m.iter()
            .map(|(k, p)| (k.clone(), policy_body(*p)))
            .collect::<BTreeMap<_, _>>()
    };
    let defaults = set
        .defaults
        .iter()
        .map(|(d, p)| (d.as_str().to_owned(), policy_body(p)))
        .collect();
    Ok(HttpResponse::Ok().json(PolicyList {
        defaults,
        contexts: map(&set.contexts),
        identities: map(&set.identities),
    }))
}

#[utoipa::path(
    get,
    path = "/api/admin/rate-limits/{scope}/{key}",
    tag = "admin",
    operation_id = "show_rate_limit",
    params(("scope" = OverrideScope, Path, description = "Overrides exist per context and per identity"),
        ("key" = String, Path, description = "Context name or identity id")),
    responses(
        (status = 200, description = "The override, or the default that applies", body = PolicyInForce),
        (status = 404, description = "`not_found`: unknown scope", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (scope, key) = path.into_inner();
    let (scope, _) = parse_scope(&scope)?;
    sync::reload_policies(&state).await?;
    let set = state.rate_limits.policies();
    let (found, fallback) = match scope {
        RateLimitScope::Context => (set.contexts.get(&key), Dimension::Context),
        _ => (set.identities.get(&key), Dimension::Identity),
    };
    let policy = found.copied().unwrap_or_else(|| set.defaults.get(fallback));
    let is_override = found.is_some();
    Ok(HttpResponse::Ok().json(PolicyInForce {
        key,
        is_override,
        policy: policy_body(policy),
    }))
}

#[utoipa::path(
    put,
    path = "/api/admin/rate-limits/{scope}/{key}",
    tag = "admin",
    operation_id = "put_rate_limit_override",
    params(("scope" = OverrideScope, Path, description = "Overrides exist per context and per identity"),
        ("key" = String, Path, description = "Context name or identity id")),
    request_body = PolicyBody,
    responses(
        (status = 200, description = "Stored and applied on every instance", body = cryptoserve_api::RateLimitPolicyRecord),
        (status = 400, description = "`invalid_request` (key or limits out of range) or `invalid_json`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`not_found`: unknown scope", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn put_override(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<(String, String)>,
    body: web::Json<PolicyBody>,
) -> ApiResult<HttpResponse> {
    let (scope_text, key) = path.into_inner();
    let (scope, dimension) = parse_scope(&scope_text)?;
    check_key(&key)?;
    let policy = validate(body.into_inner())?;
    let action = format!("rate_limit.{scope_text}.put");
    upsert(
        &state, &req, &admin, &action, scope, dimension, &key, policy,
    )
    .await
}

#[utoipa::path(
    put,
    path = "/api/admin/rate-limits/defaults/{dimension}",
    tag = "admin",
    operation_id = "put_rate_limit_default",
    params(("dimension" = cryptoserve_api::RateLimitDimension, Path, description = "Which default")),
    request_body = PolicyBody,
    responses(
        (status = 200, description = "Stored and applied on every instance", body = cryptoserve_api::RateLimitPolicyRecord),
        (status = 400, description = "`invalid_request` (limits out of range) or `invalid_json`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`not_found`: unknown dimension", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn put_default(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<String>,
    body: web::Json<PolicyBody>,
) -> ApiResult<HttpResponse> {
    let dimension = parse_dim(&path)?;
    let policy = validate(body.into_inner())?;
    let action = format!("rate_limit.default.{}.put", dimension.as_str());
    upsert(
        &state,
        &req,
        &admin,
        &action,
        RateLimitScope::Default,
        store_dimension(dimension),
        "",
        policy,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn upsert(
    state: &AppState,
    req: &HttpRequest,
    admin: &AdminPrincipal,
    action: &str,
    scope: RateLimitScope,
    dimension: RateLimitDimension,
    key: &str,
    policy: PolicyBody,
) -> ApiResult<HttpResponse> {
    let entry = audit_entry(state, req, admin, action, key)
        .with_details(serde_json::to_value(policy).unwrap_or_default());
    let result = state
        .store
        .upsert_rate_limit_policy(
            scope,
            dimension,
            key,
            policy.requests_per_minute,
            policy.burst_size,
            policy.enabled,
            entry.clone(),
        )
        .await;
    match result {
        Ok(record) => {
            sync::policies_changed(state).await;
            Ok(HttpResponse::Ok().json(record))
        }
        Err(error) => Err(audit_failure(state, entry, error.into()).await),
    }
}

#[utoipa::path(
    delete,
    path = "/api/admin/rate-limits/{scope}/{key}",
    tag = "admin",
    operation_id = "delete_rate_limit_override",
    params(("scope" = OverrideScope, Path, description = "Overrides exist per context and per identity"),
        ("key" = String, Path, description = "Context name or identity id")),
    responses(
        (status = 204, description = "Removed; the default applies again"),
        (status = 404, description = "`not_found`: unknown scope or no such override", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn delete_override(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (scope_text, key) = path.into_inner();
    let (scope, dimension) = parse_scope(&scope_text)?;
    let entry = audit_entry(
        &state,
        &req,
        &admin,
        &format!("rate_limit.{scope_text}.delete"),
        &key,
    );
    match state
        .store
        .delete_rate_limit_policy(scope, dimension, &key, entry.clone())
        .await
    {
        Ok(true) => {
            sync::policies_changed(&state).await;
            Ok(HttpResponse::NoContent().finish())
        }
        Ok(false) => Err(ApiError::NotFound(format!(
            "no {scope_text} override for `{}`",
            key.chars().take(64).collect::<String>()
        ))),
        Err(error) => Err(audit_failure(&state, entry, error.into()).await),
    }
}

#[utoipa::path(
    post,
    path = "/api/admin/rate-limits/reset/{dimension}/{key}",
    tag = "admin",
    operation_id = "reset_rate_limit_bucket",
    params(
        ("dimension" = cryptoserve_api::RateLimitDimension, Path, description = "Which default"),
        ("key" = String, Path, description = "IP address, identity id or context name")
    ),
    responses(
        (status = 204, description = "The bucket is full again"),
        (status = 400, description = "`invalid_request`: key empty or too long", body = crate::openapi::ErrorBody),
        (status = 404, description = "`not_found`: unknown dimension", body = crate::openapi::ErrorBody),
        (status = 503, description = "`service_unavailable`: the limiter (Redis) could not be reached", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (dimension_text, key) = path.into_inner();
    let dimension = parse_dim(&dimension_text)?;
    check_key(&key)?;
    let entry = audit_entry(
        &state,
        &req,
        &admin,
        &format!("rate_limit.reset.{dimension_text}"),
        &key,
    );
    match state.rate_limits.limiter.reset(dimension, &key).await {
        Ok(()) => {
            if let Err(error) = state.store.record_audit(entry).await {
                tracing::warn!(%error, "could not audit a rate-limit reset");
            }
            Ok(HttpResponse::NoContent().finish())
        }
        Err(error) => {
            let api = ApiError::ServiceUnavailable(format!("could not reset the bucket: {error}"));
            Err(audit_failure(&state, entry, api).await)
        }
    }
}
