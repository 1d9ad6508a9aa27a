//! The reload task: checks the certificate files every `CRYPTOSERVE_TLS_RELOAD_INTERVAL`
//! seconds and reloads when their contents changed; SIGHUP reloads at once, changed or not.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::ServerTls;

/// Runs until `shutdown` turns true.
pub async fn run(
    tls: Arc<ServerTls>,
    interval: Option<Duration>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(stream) => Some(stream),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP: certificates reload on file change only");
            None
        }
    };
    // An interval of "never" when polling is off; SIGHUP still works.
    let period = interval.unwrap_or(Duration::from_secs(365 * 24 * 3600));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick(), if interval.is_some() => {
                reload(&tls, false).await;
            }
            Some(()) = recv(&mut hangups) => {
                tracing::info!("SIGHUP: reloading the TLS certificate");
                reload(&tls, true).await;
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
        }
    }
}

async fn recv(hangups: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match hangups {
        Some(stream) => stream.recv().await,
        None => std::future::pending().await,
    }
}

/// File reads and key parsing are blocking work: off the runtime's worker.
async fn reload(tls: &Arc<ServerTls>, force: bool) {
    let tls = Arc::clone(tls);
    let _ = tokio::task::spawn_blocking(move || tls.reload_if_changed(force)).await;
}
