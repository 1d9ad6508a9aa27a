//! Creating an identity together with its first token (CLI and admin API share this).

use chrono::{Duration, Utc};

use cryptoserve_core::ContextName;
use cryptoserve_store::{AuditEntry, IdentityRecord, NewIdentity, Role, Store, ALL_CONTEXTS};

use super::tokens::TokenService;
use crate::error::ApiError;

/// Token lifetime when none is asked for.
pub const DEFAULT_EXPIRES_IN_DAYS: u32 = 90;
/// Longest lifetime we issue.
pub const MAX_EXPIRES_IN_DAYS: u32 = 3650;

/// What to create.
#[derive(Debug, Clone)]
pub struct IdentityRequest {
    /// Label.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Allowed contexts (`*` = all). Empty means `*` for admins and is refused for services.
    pub contexts: Vec<String>,
    /// Lifetime of the identity and its token.
    pub expires_in_days: Option<u32>,
}

/// Validates the request, stores the identity (audited) and issues its token.
pub async fn create_identity(
    store: &Store,
    tokens: &TokenService,
    request: IdentityRequest,
    audit: AuditEntry,
) -> Result<(IdentityRecord, String), ApiError> {
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::InvalidRequest(
            "`name` must be 1-128 characters".into(),
        ));
    }
    let mut contexts = request.contexts;
    if contexts.is_empty() {
        if request.role == Role::Admin {
            contexts.push(ALL_CONTEXTS.to_owned());
        } else {
            return Err(ApiError::InvalidRequest(
                "a service identity needs `contexts`: a list of context names, or [\"*\"] for all"
                    .into(),
            ));
        }
    }
    for context in &contexts {
        if context != ALL_CONTEXTS && ContextName::parse(context).is_err() {
            return Err(ApiError::InvalidRequest(format!(
                "`contexts` entry `{}` is not a valid context name",
                context.chars().take(64).collect::<String>()
            )));
        }
    }
    let days = request.expires_in_days.unwrap_or(DEFAULT_EXPIRES_IN_DAYS);
    if days == 0 || days > MAX_EXPIRES_IN_DAYS {
        return Err(ApiError::InvalidRequest(format!(
            "`expires_in_days` must be between 1 and {MAX_EXPIRES_IN_DAYS}"
        )));
    }
    let expires_at = Utc::now() + Duration::days(i64::from(days));
    let record = store
        .create_identity(
            NewIdentity {
                name,
                role: request.role,
                allowed_contexts: contexts,
                expires_at: Some(expires_at),
            },
            audit,
        )
        .await?;
    let token = tokens
        .issue(
            &record.id,
            &record.name,
            record.role,
            &record.allowed_contexts,
            expires_at,
        )
        .map_err(|e| ApiError::Internal(format!("signing token: {e}")))?;
    Ok((record, token))
}
