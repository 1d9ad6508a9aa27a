//! Policy-change propagation: instances announce "policies changed" on one channel and every
//! instance re-reads its policies. A dedicated subscriber connection forwards messages into a
//! `tokio::sync::broadcast` channel and subscribes again after every (re)connection.

use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use fred::types::Builder;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::redis::quit_in_background;

/// The channel policy changes are announced on.
pub const POLICY_CHANNEL: &str = "cryptoserve:ratelimit:policies";

/// Messages buffered per receiver before a slow one starts missing them (it then only
/// needs to re-read policies once, so lagging is harmless).
const BUFFER: usize = 64;

/// The subscriber connection and the tasks feeding the broadcast channel.
#[derive(Debug)]
pub(crate) struct PolicyChannel {
    subscriber: SubscriberClient,
    sender: broadcast::Sender<String>,
    /// True once the channel has been subscribed to on the current connection.
    subscribed: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl PolicyChannel {
    /// Builds the subscriber from the limiter's builder and starts connecting in background.
    pub fn start(builder: &Builder) -> Result<Self> {
        let subscriber = builder.build_subscriber_client()?;
        let (sender, _) = broadcast::channel(BUFFER);

        let mut messages = subscriber.message_rx();
        let forward_to = sender.clone();
        let forward = tokio::spawn(async move {
            loop {
                match messages.recv().await {
                    Ok(message) if &*message.channel == POLICY_CHANNEL => {
                        if let Some(payload) = message.value.as_string() {
                            // No receivers is fine: nobody listens yet.
                            let _ = forward_to.send(payload);
                        }
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        });

        // Fires on the first connection too, so this also does the initial SUBSCRIBE.
        let mut reconnects = subscriber.reconnect_rx();
        let resubscriber = subscriber.clone();
        let (subscribed_tx, subscribed) = watch::channel(false);
        let resubscribe = tokio::spawn(async move {
            loop {
                match reconnects.recv().await {
                    Ok(_) => {
                        let ok = subscribe_with_retry(&resubscriber).await;
                        subscribed_tx.send_replace(ok);
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        });

        // The connection task runs until quit; its handle is not needed.
        drop(subscriber.connect());
        Ok(PolicyChannel {
            subscriber,
            sender,
            subscribed,
            tasks: vec![forward, resubscribe],
        })
    }

    /// Waits until the channel is subscribed (the server acknowledged SUBSCRIBE) or
    /// `deadline` passes. Returns whether it is subscribed. An instance that serves before
    /// this would miss announcements made in between until its next periodic reload.
    pub async fn wait_subscribed(&self, deadline: tokio::time::Instant) -> bool {
        let mut subscribed = self.subscribed.clone();
        tokio::time::timeout_at(deadline, subscribed.wait_for(|ok| *ok))
            .await
            .is_ok_and(|result| result.is_ok())
    }

    /// A new receiver of every later policy-change payload.
    pub fn receiver(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }

    /// Stops the tasks and closes the connection.
    pub fn shutdown(&self) {
        for task in &self.tasks {
            task.abort();
        }
        quit_in_background(self.subscriber.clone());
    }
}

async fn subscribe_with_retry(subscriber: &SubscriberClient) -> bool {
    for _ in 0..20 {
        match subscriber.subscribe(POLICY_CHANNEL).await {
            Ok(()) => return true,
            Err(error) => {
                tracing::debug!(%error, "policy channel subscribe failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    tracing::warn!("could not subscribe to the policy channel; relying on periodic reloads");
    false
}
