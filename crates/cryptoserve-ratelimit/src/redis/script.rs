//! The Lua scripts and how they are invoked: `EVALSHA` on the hot path, the SHA learnt once
//! from `SCRIPT LOAD`, and a plain `EVAL` (which also re-caches the script on that node) when
//! a node answers `NOSCRIPT`, e.g. after a restart emptied its script cache.

use std::collections::HashMap;
use std::time::Duration;

use fred::interfaces::ClientLike;
use fred::types::{ClusterHash, CustomCommand, Value};
use fred::util::redis_keyslot;
use parking_lot::RwLock;

use crate::error::{RateLimitError, Result};
use crate::policy::Check;
use crate::stats::Counters;

/// The check-and-take script: decides a batch of requests (standalone Redis) or one slot
/// group of one request (Redis Cluster) atomically. Arguments are built by [`TakeArgs`].
pub(crate) const TAKE_MANY: &str = include_str!("take_many.lua");
/// The compensation script: returns a take when another slot group denied (cluster only).
pub(crate) const REFUND: &str = include_str!("refund.lua");

/// `KEYS` and `ARGV` of one `take_many.lua` run, built request by request. A key several
/// requests share (a busy identity, a hot context) is sent once, with its policy once; each
/// request then names its keys by index, which keeps the script's per-request work small.
#[derive(Debug)]
pub(crate) struct TakeArgs {
    keys: Vec<String>,
    index: HashMap<String, i64>,
    /// `T` and `τ` of each key, in the order of `keys`.
    policies: Vec<i64>,
    /// Per request: cost, number of keys, then per key its index and the lease tokens wanted.
    requests: Vec<i64>,
    count: usize,
}

impl TakeArgs {
    pub fn new() -> Self {
        TakeArgs {
            keys: Vec::new(),
            index: HashMap::new(),
            policies: Vec::new(),
            requests: Vec::new(),
            count: 0,
        }
    }

    /// Appends one request: its cost, then per check (with its [`bucket_key`] and the lease
    /// tokens wanted on it) the key's position and the extra. A key's `T` and `τ` are those of
    /// the first request that names it: within one batch they only differ if a policy changed
    /// mid-batch, and the next batch uses the new one.
    pub fn push<'c>(
        &mut self,
        cost: u32,
        checks: impl ExactSizeIterator<Item = (String, &'c Check, u32)>,
    ) {
        self.count += 1;
        self.requests.push(i64::from(cost));
        self.requests.push(count(checks.len()));
        for (key, check, extra) in checks {
            let position = match self.index.get(&key) {
                Some(&position) => position,
                None => {
                    self.keys.push(key.clone());
                    let position = count(self.keys.len());
                    self.index.insert(key, position);
                    self.policies
                        .push(micros(check.policy.emission_interval_us()));
                    self.policies.push(micros(check.policy.tolerance_us()));
                    position
                }
            };
            self.requests.push(position);
            self.requests.push(i64::from(extra));
        }
    }

    /// The keys and arguments to run the script with: the request count, the lease length,
    /// the key policies, then the requests.
    pub fn finish(self, lease: Duration) -> (Vec<String>, Vec<i64>) {
        let mut args = Vec::with_capacity(2 + self.policies.len() + self.requests.len());
        args.push(count(self.count));
        args.push(micros(u64::try_from(lease.as_micros()).unwrap_or(u64::MAX)));
        args.extend(self.policies);
        args.extend(self.requests);
        (self.keys, args)
    }
}

/// The Redis key of one bucket.
pub(crate) fn bucket_key(prefix: &str, check: &Check) -> String {
    format!("{prefix}{}:{}", check.dimension.as_str(), check.key)
}

/// A duration in microseconds as a script argument.
pub(crate) fn micros(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One Lua script and its SHA once known.
///
/// Commands go through `custom` rather than fred's Lua interface because only `custom` accepts
/// per-command options (fail fast, one attempt, timeout) via `with_options`; without them a
/// take issued while disconnected would be queued and replayed later, consuming quota for a
/// request that was long since answered by the fallback.
#[derive(Debug)]
pub(crate) struct LuaScript {
    lua: &'static str,
    sha: RwLock<Option<String>>,
}

impl LuaScript {
    pub fn new(lua: &'static str) -> Self {
        LuaScript {
            lua,
            sha: RwLock::new(None),
        }
    }

    /// `SCRIPT LOAD` on the node owning `slot` (any node when `None`), remembering the SHA.
    pub async fn load<C: ClientLike + Sync>(
        &self,
        client: &C,
        slot: Option<u16>,
    ) -> Result<String> {
        let hash = slot.map_or(ClusterHash::Random, ClusterHash::Custom);
        let sha: String = client
            .custom(
                CustomCommand::new_static("SCRIPT", hash, false),
                vec![Value::from("LOAD"), Value::from(self.lua)],
            )
            .await?;
        *self.sha.write() = Some(sha.clone());
        Ok(sha)
    }

    /// Runs the script on the node owning `keys` (which must share one slot), loading it
    /// first if we never learnt its SHA, and sending it whole when the node answers NOSCRIPT.
    pub async fn run<C: ClientLike + Sync>(
        &self,
        client: &C,
        keys: Vec<String>,
        args: Vec<i64>,
        counters: &Counters,
    ) -> Result<Vec<i64>> {
        let slot = keys.first().map_or(0, |k| redis_keyslot(k.as_bytes()));
        let known_sha = self.sha.read().clone();
        let sha = match known_sha {
            Some(sha) => sha,
            None => self.load(client, Some(slot)).await?,
        };
        let mut tail: Vec<Value> = Vec::with_capacity(1 + keys.len() + args.len());
        tail.push(Value::Integer(
            i64::try_from(keys.len()).unwrap_or(i64::MAX),
        ));
        tail.extend(keys.into_iter().map(Value::from));
        tail.extend(args.into_iter().map(Value::Integer));

        let evalsha = CustomCommand::new_static("EVALSHA", ClusterHash::Custom(slot), false);
        let mut with_sha = vec![Value::from(sha)];
        with_sha.extend(tail.iter().cloned());
        Counters::bump(&counters.redis_round_trips);
        let reply: Value = match client.custom(evalsha, with_sha).await {
            Err(error) if error.details().starts_with("NOSCRIPT") => {
                Counters::bump(&counters.script_reloads);
                Counters::bump(&counters.redis_round_trips);
                let eval = CustomCommand::new_static("EVAL", ClusterHash::Custom(slot), false);
                let mut with_body = vec![Value::from(self.lua)];
                with_body.extend(tail);
                client.custom(eval, with_body).await?
            }
            other => other?,
        };
        integers(reply)
    }
}

fn integers(reply: Value) -> Result<Vec<i64>> {
    match reply {
        Value::Array(values) => values
            .into_iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| RateLimitError::UnexpectedReply(format!("{v:?}")))
            })
            .collect(),
        Value::Integer(i) => Ok(vec![i]),
        other => Err(RateLimitError::UnexpectedReply(format!("{other:?}"))),
    }
}
