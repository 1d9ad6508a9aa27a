//! Standalone Redis: checks that arrive while earlier ones are on the wire share one script run.
//!
//! Every check is queued; a dispatcher takes whatever is queued (up to [`MAX_BATCH`]) and runs
//! `take_many.lua` once for all of it, with at most [`IN_FLIGHT`] runs outstanding. Nothing
//! waits for a batch to fill: an idle limiter sends a lone check at once, a busy one sends
//! what queued up during the previous round trip. Each check still costs its caller exactly
//! one round trip, while Redis parses one command, reads and writes every shared bucket
//! (the caller's identity, a hot context) once per batch, and the client does one command's
//! bookkeeping instead of dozens.
//!
//! The script decides the queued requests one after the other, each all-or-nothing, with one
//! clock reading: the same admissions as separate one-request runs at that instant. A caller
//! that gave up (its timeout passed and the fallback answered) is dropped from the batch before
//! it is sent, so an abandoned check does not consume quota.
//!
//! Before queueing, a check is offered to the batcher's [`Leases`]: on busy buckets with a
//! large burst, tokens taken ahead of time with an earlier request admit it without a round
//! trip (`lease.rs` explains why that stays exact).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::types::config::Options;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{RateLimitError, Result};
use crate::policy::Check;
use crate::redis::lease::{Leases, Plan};
use crate::redis::script::{bucket_key, LuaScript, TakeArgs, TAKE_MANY};
use crate::stats::Counters;

/// Most requests decided by one script run.
const MAX_BATCH: usize = 128;
/// Script runs outstanding at once per batcher; further checks queue and go in the next batch.
/// One: with a lane per worker thread that is one run per worker, and the checks that arrive
/// during its round trip all share the next one (measured against two: less Redis CPU per
/// request and more requests per second when leases are off, see benches/README.md).
const IN_FLIGHT: usize = 1;
/// Checks that may wait for a batch before callers wait to enqueue (under their timeout).
const QUEUE: usize = 4 * MAX_BATCH;

/// What Redis said about one request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub allowed: bool,
    /// `max(tat - now, 0)` per check, before the request, in the order given (for a leased
    /// decision, a lower bound of it after the lease).
    pub ahead_us: Vec<u64>,
    /// Lease tokens Redis granted per check (empty for a leased decision).
    pub granted: Vec<u64>,
    /// Admitted from leases, without a round trip.
    pub leased: bool,
}

struct Pending {
    checks: Vec<Check>,
    cost: u32,
    /// Lease tokens asked for per check.
    extra: Vec<u32>,
    reply: oneshot::Sender<Result<Reply>>,
}

/// Everything a batch run needs; shared by the dispatcher and the runs it spawns.
#[derive(Debug)]
struct Shared {
    client: Client,
    options: Options,
    script: LuaScript,
    key_prefix: String,
    counters: Arc<Counters>,
    /// Lease length sent to the script (zero: no leases).
    lease: Duration,
}

/// The queue, its dispatcher task, and the leases of the checks that go through it.
#[derive(Debug)]
pub(crate) struct Batcher {
    queue: mpsc::Sender<Pending>,
    dispatcher: JoinHandle<()>,
    leases: Leases,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("checks", &self.checks.len())
            .field("cost", &self.cost)
            .finish()
    }
}

impl Batcher {
    /// Starts the dispatcher on the current runtime (with `local`, on the current thread's
    /// `LocalSet`, which must exist), sending through `client` with the per-command
    /// `options`; leases live `lease` (zero: none).
    pub fn start(
        client: Client,
        options: Options,
        key_prefix: String,
        counters: Arc<Counters>,
        lease: Duration,
        local: bool,
    ) -> Self {
        let shared = Arc::new(Shared {
            client,
            options,
            script: LuaScript::new(TAKE_MANY),
            key_prefix,
            counters,
            lease,
        });
        let (queue, receiver) = mpsc::channel(QUEUE);
        let dispatcher = spawn(local, dispatch(shared, receiver, local));
        Batcher {
            queue,
            dispatcher,
            leases: Leases::new(lease),
        }
    }

    /// Decides `checks` (all enabled) for `cost`, from leases when they cover it, else in
    /// Redis. The caller bounds the wait with its timeout.
    pub async fn decide(&self, checks: &[&Check], cost: u32) -> Result<Reply> {
        // Taken before the request is queued, so before Redis reads its clock for it.
        let sent = Instant::now();
        let extra = match self.leases.plan(checks, cost, sent) {
            Plan::Leased { ahead_us } => {
                return Ok(Reply {
                    allowed: true,
                    ahead_us,
                    granted: Vec::new(),
                    leased: true,
                })
            }
            Plan::Ask { extra } => extra,
        };
        // Only a request that asked for a lease reports back; the others hand `extra` over.
        let asked = extra.iter().any(|&e| e > 0).then(|| extra.clone());
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            checks: checks.iter().map(|&c| c.clone()).collect(),
            cost,
            extra,
            reply,
        };
        let result = async {
            self.queue.send(pending).await.map_err(|_| {
                RateLimitError::UnexpectedReply("rate limit batcher stopped".into())
            })?;
            answer
                .await
                .map_err(|_| RateLimitError::UnexpectedReply("rate limit batch dropped".into()))?
        }
        .await;
        if let Some(extra) = asked {
            match &result {
                Ok(reply) => {
                    self.leases
                        .granted(checks, cost, &extra, &reply.ahead_us, &reply.granted, sent)
                }
                Err(_) => self.leases.abandoned(checks, &extra),
            }
        }
        result
    }

    /// Stops the dispatcher; queued checks are answered by their callers' timeouts.
    pub fn shutdown(&self) {
        self.dispatcher.abort();
    }
}

async fn dispatch(shared: Arc<Shared>, mut receiver: mpsc::Receiver<Pending>, local: bool) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let live: Vec<Pending> = batch.drain(..).filter(|p| !p.reply.is_closed()).collect();
        if live.is_empty() {
            continue;
        }
        let shared = Arc::clone(&shared);
        spawn(local, async move {
            run(&shared, live).await;
            drop(permit);
        });
    }
}

/// Spawns `task` on the current thread's `LocalSet` when `local`, else on the runtime.
fn spawn<F>(local: bool, task: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    if local {
        tokio::task::spawn_local(task)
    } else {
        tokio::spawn(task)
    }
}

/// One script run for `batch`, every caller answered.
async fn run(shared: &Shared, batch: Vec<Pending>) {
    let mut take = TakeArgs::new();
    for pending in &batch {
        let keyed = pending
            .checks
            .iter()
            .zip(&pending.extra)
            .map(|(check, &extra)| (bucket_key(&shared.key_prefix, check), check, extra));
        take.push(pending.cost, keyed);
    }
    let (keys, args) = take.finish(shared.lease);

    let client = shared.client.with_options(&shared.options);
    match shared
        .script
        .run(&client, keys, args, &shared.counters)
        .await
    {
        Ok(reply) => answer(batch, &reply),
        Err(error) => {
            for pending in batch {
                let _ = pending.reply.send(Err(error.clone()));
            }
        }
    }
}

/// Splits the flat reply (per request: allowed, then one `ahead` per check, then one lease
/// grant per check) among the callers.
fn answer(batch: Vec<Pending>, reply: &[i64]) {
    let mut rest = reply;
    for pending in batch {
        let n = pending.checks.len();
        let result = match rest.split_first() {
            Some((&allowed, tail)) if tail.len() >= 2 * n => {
                let (ahead, tail) = tail.split_at(n);
                let (granted, after) = tail.split_at(n);
                rest = after;
                Ok(Reply {
                    allowed: allowed == 1,
                    ahead_us: non_negative(ahead),
                    granted: non_negative(granted),
                    leased: false,
                })
            }
            _ => {
                rest = &[];
                Err(RateLimitError::UnexpectedReply(format!(
                    "batch reply of {} values is too short",
                    reply.len()
                )))
            }
        };
        let _ = pending.reply.send(result);
    }
}

fn non_negative(values: &[i64]) -> Vec<u64> {
    values
        .iter()
        .map(|&v| u64::try_from(v).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Dimension, Policy};

    fn pending(checks: usize) -> (Pending, oneshot::Receiver<Result<Reply>>) {
        let (reply, answer) = oneshot::channel();
        let check = Check::new(
            Dimension::Identity,
            "a",
            Policy::default_for(Dimension::Identity),
        );
        (
            Pending {
                checks: vec![check; checks],
                cost: 1,
                extra: vec![0; checks],
                reply,
            },
            answer,
        )
    }

    #[test]
    fn a_flat_reply_is_split_per_request() {
        let (first, mut first_answer) = pending(2);
        let (second, mut second_answer) = pending(1);
        answer(vec![first, second], &[1, 10, 20, 5, 0, 0, 30, 0]);
        let first = first_answer.try_recv().unwrap().unwrap();
        assert!(first.allowed);
        assert_eq!(first.ahead_us, vec![10, 20]);
        assert_eq!(first.granted, vec![5, 0]);
        let second = second_answer.try_recv().unwrap().unwrap();
        assert!(!second.allowed);
        assert_eq!(second.ahead_us, vec![30]);
        assert_eq!(second.granted, vec![0]);
    }

    #[test]
    fn a_short_reply_is_an_error_for_those_it_does_not_cover() {
        let (first, mut first_answer) = pending(1);
        let (second, mut second_answer) = pending(2);
        answer(vec![first, second], &[1, 5, 0, 1, 7, 0, 0]);
        assert!(first_answer.try_recv().unwrap().is_ok());
        assert!(matches!(
            second_answer.try_recv().unwrap(),
            Err(RateLimitError::UnexpectedReply(_))
        ));
    }
}
