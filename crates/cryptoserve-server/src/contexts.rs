//! Context management: the one implementation of create, rotate, configure and delete that
//! both the native admin API (`/api/admin/contexts`) and the Transit key routes
//! (`/v1/transit/keys`) call, plus the auto-rotation scheduler.
//!
//! Each operation writes through the store (which audits the change in the same
//! transaction), updates this instance's metadata cache at once (other instances follow the
//! change counter), and audits a refusal as a failure. A Transit key *is* a context: the same
//! rows, versions, audit entries and caches, whichever API touched it.

use std::sync::Arc;
use std::time::Duration;

use cryptoserve_core::{Algorithm, GenerationId};
use cryptoserve_store::{
    AuditEntry, ContextAttributes, ContextConfig, ContextRecord, NewContext, StoreError,
};
use tokio::sync::watch;

use crate::admin_audit::audit_failure;
use crate::error::ApiError;
use crate::state::AppState;

/// The longest a deletion waits for every instance to have seen the context as deletable.
pub const MAX_DELETION_SETTLE: Duration = Duration::from_secs(10);

/// How often each instance looks for contexts whose auto-rotation period has passed.
pub const AUTO_ROTATE_CHECK: Duration = Duration::from_secs(60);

/// What a new context is.
#[derive(Debug, Clone, Default)]
pub struct ContextDefinition {
    /// The AEAD.
    pub algorithm: Algorithm,
    /// Free text for operators.
    pub description: String,
    /// Derived / convergent / deletable / auto-rotating.
    pub attributes: ContextAttributes,
}

/// Creates a context with a fresh generation id (so its keys differ from any earlier context
/// of the same name).
pub async fn create(
    state: &AppState,
    name: &str,
    definition: ContextDefinition,
    audit: AuditEntry,
) -> Result<ContextRecord, ApiError> {
    let generation = GenerationId::random().map_err(|e| ApiError::Internal(e.to_string()))?;
    let algorithm = cryptoserve_store::Algorithm::parse(definition.algorithm.name())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let audit_details = serde_json::json!({
        "algorithm": definition.algorithm.name(),
        "derived": definition.attributes.derived,
        "convergent": definition.attributes.convergent,
    });
    let result = state
        .store
        .create_context(
            NewContext {
                name: name.to_owned(),
                description: definition.description,
                algorithm,
                master_key_id: state.cipher.keyring().active().id().to_string(),
                attributes: definition.attributes,
                generation_id: Some(generation.to_hex()),
            },
            audit.clone().with_details(audit_details),
        )
        .await;
    finish(state, audit, result).await
}

/// Adds a new current key version.
pub async fn rotate(
    state: &AppState,
    name: &str,
    audit: AuditEntry,
) -> Result<ContextRecord, ApiError> {
    let master_key_id = state.cipher.keyring().active().id().to_string();
    let result = state
        .store
        .rotate_context(name, &master_key_id, audit.clone())
        .await;
    finish(state, audit, result).await
}

/// Changes the version window, deletion permission or auto-rotation period.
pub async fn configure(
    state: &AppState,
    name: &str,
    config: ContextConfig,
    audit: AuditEntry,
) -> Result<ContextRecord, ApiError> {
    let details = serde_json::json!({
        "min_decryption_version": config.min_decryption_version,
        "min_encryption_version": config.min_encryption_version,
        "deletion_allowed": config.deletion_allowed,
        "auto_rotate_period_secs": config.auto_rotate_period_secs,
    });
    let result = state
        .store
        .configure_context(name, config, audit.clone().with_details(details))
        .await;
    finish(state, audit, result).await
}

/// Deletes a context whose `deletion_allowed` is set. Its ciphertext never opens again.
///
/// Every instance re-reads a deletable context from the database on each call (see
/// `routes::crypto::CryptoCall::begin`), so once the deletion commits none of them uses the
/// key again. That holds only once they all know the context is deletable, which they learn
/// at their next cache refresh; so a deletion that follows the change of `deletion_allowed`
/// (or any other change) closely first waits until two refresh intervals have passed since it.
pub async fn delete(state: &AppState, name: &str, audit: AuditEntry) -> Result<(), ApiError> {
    if let Ok(Some(record)) = state.store.get_context(name).await {
        let settle = (state.settings.cache_refresh() * 2).min(MAX_DELETION_SETTLE);
        let since_change = (chrono::Utc::now() - record.updated_at)
            .to_std()
            .unwrap_or_default();
        if record.deletion_allowed && since_change < settle {
            tokio::time::sleep(settle - since_change).await;
        }
    }
    match state.store.delete_context(name, audit.clone()).await {
        Ok(()) => {
            state.metadata.remove_context(name);
            // With Redis the others drop it within milliseconds instead of at their next
            // poll, which narrows the window in which a stale cache could still encrypt.
            crate::sync::announce_change(state).await;
            Ok(())
        }
        Err(error) => Err(audit_failure(state, audit, store_error(error, name)).await),
    }
}

async fn finish(
    state: &AppState,
    audit: AuditEntry,
    result: Result<ContextRecord, StoreError>,
) -> Result<ContextRecord, ApiError> {
    match result {
        Ok(record) => {
            state.metadata.put_context(record.clone());
            Ok(record)
        }
        Err(error) => {
            let name = audit.target.clone();
            Err(audit_failure(state, audit, store_error(error, &name)).await)
        }
    }
}

/// A missing context is `unknown_context`; everything else maps as usual.
fn store_error(error: StoreError, name: &str) -> ApiError {
    match error {
        StoreError::NotFound { .. } => ApiError::UnknownContext(name.to_owned()),
        other => other.into(),
    }
}

/// Rotates every context whose auto-rotation period has passed, checking every
/// [`AUTO_ROTATE_CHECK`]. Every instance runs this; the store re-checks the deadline under its
/// write lock, so each due rotation happens exactly once across the cluster.
pub async fn auto_rotate(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(AUTO_ROTATE_CHECK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => rotate_due(&state).await,
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
        }
    }
}

/// One pass of the scheduler.
pub async fn rotate_due(state: &AppState) {
    let names = match state.store.auto_rotating_contexts().await {
        Ok(names) => names,
        Err(error) => {
            tracing::debug!(%error, "auto-rotation check skipped: database unavailable");
            return;
        }
    };
    let master_key_id = state.cipher.keyring().active().id().to_string();
    for name in names {
        let audit = AuditEntry::new("scheduler", "context.auto_rotate", &name)
            .with_details(serde_json::json!({ "instance": state.instance_id }));
        match state
            .store
            .rotate_context_if_due(&name, &master_key_id, chrono::Utc::now(), audit)
            .await
        {
            Ok(Some(record)) => {
                tracing::info!(context = %name, version = record.current_version, "auto-rotated");
                state.metadata.put_context(record);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(context = %name, %error, "auto-rotation failed"),
        }
    }
}
