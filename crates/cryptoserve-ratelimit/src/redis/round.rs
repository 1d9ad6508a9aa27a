//! One request against Redis Cluster: group the buckets by hash slot, run the take script on
//! every group concurrently (each run a one-request batch), and when any group denies, refund
//! the groups that admitted. Standalone Redis goes through `batch.rs` instead.

use std::collections::BTreeMap;
use std::time::Duration;

use fred::interfaces::ClientLike;
use fred::util::redis_keyslot;

use crate::decision::{Decision, DecisionSource};
use crate::error::{RateLimitError, Result};
use crate::gcra::{self, BucketState};
use crate::policy::Check;
use crate::redis::script::{bucket_key, micros, LuaScript, TakeArgs};
use crate::stats::Counters;

/// What one request needs from the limiter to talk to Redis.
pub(crate) struct Round<'a, C> {
    pub client: &'a C,
    pub take: &'a LuaScript,
    pub refund: &'a LuaScript,
    pub counters: &'a Counters,
    pub key_prefix: &'a str,
}

/// The caller-facing decision from what Redis reported: whether it admitted the request and
/// each bucket's `ahead` before it.
pub(crate) fn decision_from(
    checks: &[&Check],
    cost: u32,
    admitted: bool,
    ahead: &[u64],
) -> Decision {
    let buckets: Vec<BucketState> = checks
        .iter()
        .zip(ahead)
        .map(|(check, &ahead_us)| BucketState {
            dimension: check.dimension,
            policy: check.policy,
            ahead_us,
        })
        .collect();
    let mut decision = gcra::decide(&buckets, cost, DecisionSource::Redis).decision;
    if decision.allowed != admitted {
        // Same integer arithmetic on both sides, so this means a script/crate mismatch;
        // what Redis stored is the truth.
        tracing::warn!(redis = admitted, "rate limit script and crate disagree");
        decision.allowed = admitted;
    }
    decision
}

impl<C: ClientLike + Sync> Round<'_, C> {
    /// Decides `checks` (all enabled) for `cost`, all-or-nothing.
    pub async fn decide(&self, checks: &[&Check], cost: u32) -> Result<Decision> {
        let keys: Vec<String> = checks
            .iter()
            .map(|c| bucket_key(self.key_prefix, c))
            .collect();
        let groups = by_slot(&keys);

        let takes = groups.iter().map(|group| {
            let mut take = TakeArgs::new();
            take.push(cost, group.iter().map(|&i| (keys[i].clone(), checks[i], 0)));
            // No leases on Redis Cluster: a request's buckets live on several nodes.
            let (group_keys, args) = take.finish(Duration::ZERO);
            self.take.run(self.client, group_keys, args, self.counters)
        });
        let results = futures::future::join_all(takes).await;

        let mut ahead = vec![0_u64; checks.len()];
        let mut admitted_groups = Vec::new();
        let mut all_admitted = true;
        let mut first_error = None;
        for (group, result) in groups.iter().zip(results) {
            match result {
                // allowed, one `ahead` per bucket, one (zero) lease grant per bucket.
                Ok(reply) if reply.len() == 2 * group.len() + 1 => {
                    for (&i, &value) in group.iter().zip(&reply[1..]) {
                        ahead[i] = u64::try_from(value).unwrap_or(0);
                    }
                    if reply[0] == 1 {
                        admitted_groups.push(group);
                    } else {
                        all_admitted = false;
                    }
                }
                Ok(reply) => {
                    all_admitted = false;
                    first_error
                        .get_or_insert(RateLimitError::UnexpectedReply(format!("{reply:?}")));
                }
                Err(error) => {
                    all_admitted = false;
                    first_error.get_or_insert(error);
                }
            }
        }

        if !all_admitted && !admitted_groups.is_empty() {
            self.refund_groups(&admitted_groups, checks, &keys, cost)
                .await;
        }
        if let Some(error) = first_error {
            return Err(error);
        }

        Ok(decision_from(checks, cost, all_admitted, &ahead))
    }

    /// Gives back what admitted groups took. Best effort: a failed refund leaves the take in
    /// place, which can only under-admit until the bucket refills.
    async fn refund_groups(
        &self,
        groups: &[&Vec<usize>],
        checks: &[&Check],
        keys: &[String],
        cost: u32,
    ) {
        let refunds = groups.iter().map(|group| {
            let mut args = Vec::with_capacity(1 + group.len());
            args.push(i64::from(cost));
            args.extend(
                group
                    .iter()
                    .map(|&i| micros(checks[i].policy.emission_interval_us())),
            );
            let group_keys = group.iter().map(|&i| keys[i].clone()).collect();
            self.refund
                .run(self.client, group_keys, args, self.counters)
        });
        for result in futures::future::join_all(refunds).await {
            if let Err(error) = result {
                self.counters.record_error();
                tracing::warn!(%error, "rate limit refund failed; bucket under-admits until it refills");
            }
        }
    }
}

/// Indices of `keys` grouped by hash slot.
fn by_slot(keys: &[String]) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        groups
            .entry(redis_keyslot(key.as_bytes()))
            .or_default()
            .push(i);
    }
    groups.into_values().collect()
}
