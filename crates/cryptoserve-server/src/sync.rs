//! Keeping this instance's caches in step with the database and the other instances.
//!
//! One background task polls the change counter (every `CRYPTOSERVE_CACHE_REFRESH_MS`) and
//! reloads contexts, revocations and rate-limit policies when it moved. With Redis, admin
//! changes are also announced on a channel and every instance reloads on the message at once;
//! the poll is the backstop for a missed message.

use std::sync::Arc;

use tokio::sync::watch;

use cryptoserve_ratelimit::Limiter;

use crate::error::ApiResult;
use crate::rate_limit::PolicySet;
use crate::state::AppState;

/// Re-reads the rate-limit policies from the database.
pub async fn reload_policies(state: &AppState) -> ApiResult<()> {
    let records = state.store.list_rate_limit_policies().await?;
    state
        .rate_limits
        .set_policies(PolicySet::from_records(&records));
    Ok(())
}

/// After a local policy change: apply it here and tell the other instances.
pub async fn policies_changed(state: &AppState) {
    if let Err(error) = reload_policies(state).await {
        tracing::warn!(
            ?error,
            "could not reload rate-limit policies after a change"
        );
    }
    if let Limiter::Redis(redis) = &state.rate_limits.limiter {
        if let Err(error) = redis.publish_policy_change(&state.instance_id).await {
            tracing::warn!(%error, "could not announce a policy change; others poll within 1 s");
        }
    }
}

/// After a change other instances must see at once (a deleted context): tell them now rather
/// than at their next poll. Receivers reload everything whose counter moved.
pub async fn announce_change(state: &AppState) {
    if let Limiter::Redis(redis) = &state.rate_limits.limiter {
        if let Err(error) = redis.publish_policy_change(&state.instance_id).await {
            tracing::warn!(%error, "could not announce a change; others poll within 1 s");
        }
    }
}

/// One refresh: metadata if the counter moved, and then the policies.
pub async fn refresh(state: &AppState, force_policies: bool) {
    match state.metadata.refresh(&state.store).await {
        Ok(changed) => {
            if changed || force_policies {
                if let Err(error) = reload_policies(state).await {
                    tracing::warn!(?error, "could not reload rate-limit policies");
                }
            }
        }
        Err(error) => {
            state.metrics.metadata_refresh_failures.inc();
            tracing::warn!(%error, "metadata refresh failed; serving cached metadata");
        }
    }
    state
        .metrics
        .cached_contexts
        .set(i64::try_from(state.metadata.context_count()).unwrap_or(i64::MAX));
}

/// Policy-change announcements from other instances (only with Redis).
///
/// Take the receiver before the instance serves: a message published in between would
/// otherwise be lost until the next poll.
pub fn subscribe(state: &AppState) -> Option<Announcements> {
    match &state.rate_limits.limiter {
        Limiter::Redis(redis) => Some(redis.subscribe_policy_changes()),
        Limiter::Local(_) => None,
    }
}

/// Policy-change payloads announced by other instances.
pub type Announcements = tokio::sync::broadcast::Receiver<String>;

/// Runs the poller and the change listener until shutdown. `announcements` comes from
/// [`subscribe`], called before the instance started serving.
pub async fn run(
    state: Arc<AppState>,
    mut announcements: Option<Announcements>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(state.settings.cache_refresh());
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let announcement = async {
            match announcements.as_mut() {
                Some(rx) => rx.recv().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => refresh(&state, false).await,
            received = announcement => {
                if received {
                    refresh(&state, true).await;
                } else {
                    // Lagged or closed: resubscribe and let the poll catch up.
                    announcements = subscribe(&state);
                }
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
        }
    }
}
