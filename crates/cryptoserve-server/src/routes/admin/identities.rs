//! Identity and token administration.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{TimeZone, Utc};
use cryptoserve_api::{
    CreateIdentity, CreatedIdentity, IdentityList, RevokeToken, RevokedToken, RevokedTokenIds,
};
use cryptoserve_store::Role;

use super::{audit_entry, audit_failure, resource};
use crate::auth::identities::{create_identity, IdentityRequest};
use crate::auth::AdminPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/identities")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        resource("/identities/{id}")
            .route(web::get().to(show))
            .route(web::delete().to(revoke)),
    )
    .service(resource("/tokens/revoke").route(web::post().to(revoke_token)));
}

#[utoipa::path(
    post,
    path = "/api/admin/identities",
    tag = "admin",
    operation_id = "create_identity",
    request_body = CreateIdentity,
    responses(
        (status = 201, description = "Created; the token is shown only here", body = CreatedIdentity),
        (status = 400, description = "`invalid_request` (role, contexts, lifetime) or `invalid_json`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    body: web::Json<CreateIdentity>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let entry = audit_entry(&state, &req, &admin, "identity.create", &body.name);
    let role = Role::parse(&body.role)
        .map_err(|_| ApiError::InvalidRequest("`role` must be \"admin\" or \"service\"".into()))?;
    let request = IdentityRequest {
        name: body.name,
        role,
        contexts: body.contexts.unwrap_or_default(),
        expires_in_days: body.expires_in_days,
    };
    let details = serde_json::json!({ "role": role.as_str(), "contexts": request.contexts });
    match create_identity(
        &state.store,
        &state.tokens,
        request,
        entry.clone().with_details(details),
    )
    .await
    {
        Ok((identity, token)) => {
            Ok(HttpResponse::Created().json(CreatedIdentity { identity, token }))
        }
        Err(error @ ApiError::InvalidRequest(_)) => Err(error),
        Err(error) => Err(audit_failure(&state, entry, error).await),
    }
}

#[utoipa::path(
    get,
    path = "/api/admin/identities",
    tag = "admin",
    operation_id = "list_identities",
    responses(
        (status = 200, description = "Every identity", body = IdentityList),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn list(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
) -> ApiResult<HttpResponse> {
    let identities = state.store.list_identities().await?;
    Ok(HttpResponse::Ok().json(IdentityList { identities }))
}

#[utoipa::path(
    get,
    path = "/api/admin/identities/{id}",
    tag = "admin",
    operation_id = "show_identity",
    params(("id" = String, Path, description = "Identity id (UUID)")),
    responses(
        (status = 200, description = "The identity", body = cryptoserve_api::IdentityRecord),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn show(
    state: web::Data<AppState>,
    _admin: AdminPrincipal,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let identity =
        state.store.get_identity(&path).await?.ok_or_else(|| {
            ApiError::NotFound(format!("identity `{}` not found", truncate(&path)))
        })?;
    Ok(HttpResponse::Ok().json(identity))
}

#[utoipa::path(
    delete,
    path = "/api/admin/identities/{id}",
    tag = "admin",
    operation_id = "revoke_identity",
    params(("id" = String, Path, description = "Identity id (UUID)")),
    responses(
        (status = 200, description = "Revoked, permanently, with every token it holds", body = cryptoserve_api::IdentityRecord),
        (status = 404, description = "`not_found`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`conflict`: an identity cannot revoke itself", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let entry = audit_entry(&state, &req, &admin, "identity.revoke", &id);
    if id == admin.0.id() {
        // Revoking oneself would lock the caller out mid-session (and, for the last admin,
        // everyone); another admin must do it.
        let error = ApiError::Conflict(
            "an identity cannot revoke itself; ask another admin to revoke it".into(),
        );
        return Err(audit_failure(&state, entry, error).await);
    }
    match state.store.revoke_identity(&id, entry.clone()).await {
        Ok(identity) => {
            state.metadata.revoke_identity(&identity.id);
            Ok(HttpResponse::Ok().json(identity))
        }
        Err(error) => Err(audit_failure(&state, entry, error.into()).await),
    }
}

#[utoipa::path(
    post,
    path = "/api/admin/tokens/revoke",
    tag = "admin",
    operation_id = "revoke_token",
    request_body = RevokeToken,
    responses(
        (status = 200, description = "The token is refused from now on", body = RevokedToken),
        (status = 400, description = "`invalid_request`: not a valid, unexpired token; or `invalid_json`", body = crate::openapi::ErrorBody),
        crate::openapi::AuthErrors,
        crate::openapi::BodyErrors,
        crate::openapi::StoreErrors,
    ),
    security(("bearer" = []))
)]
pub(super) async fn revoke_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminPrincipal,
    body: web::Json<RevokeToken>,
) -> ApiResult<HttpResponse> {
    let claims = state
        .tokens
        .verify(body.token.trim())
        .map_err(|_| ApiError::InvalidRequest("`token` is not a valid, unexpired token".into()))?;
    let entry = audit_entry(&state, &req, &admin, "token.revoke", &claims.jti)
        .with_details(serde_json::json!({ "identity_id": claims.sub }));
    let expires_at = Utc
        .timestamp_opt(claims.exp, 0)
        .single()
        .unwrap_or_else(Utc::now);
    match state
        .store
        .revoke_token(&claims.jti, &claims.sub, expires_at, entry.clone())
        .await
    {
        Ok(()) => {
            // Refused here at once; other instances learn through the change counter.
            state.metadata.revoke_token(&claims.jti);
            Ok(HttpResponse::Ok().json(RevokedToken {
                revoked: RevokedTokenIds {
                    jti: claims.jti.clone(),
                    identity_id: claims.sub.clone(),
                },
            }))
        }
        Err(error) => Err(audit_failure(&state, entry, error.into()).await),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}
