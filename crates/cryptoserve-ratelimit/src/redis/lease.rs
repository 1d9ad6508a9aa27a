//! Leases: tokens a batcher takes from a busy bucket together with a request, so that the next
//! requests for that bucket are admitted in process, without a round trip, and the limit stays
//! exact across the cluster.
//!
//! # Why a lease never over-admits
//!
//! A request that asks for a lease of `L` tokens on a bucket is charged `cost + L` in Redis, and
//! the script also keeps the bucket's TAT at least `hold = min(ttl, τ / 64)` in the future
//! (`tat ≥ now + hold + (cost + L)·T`). The batcher then spends the `L` tokens only before
//! `sent + hold`, where `sent` is taken before the request is queued and so precedes Redis's
//! own clock reading. While a
//! lease lives the bucket is therefore never full, so GCRA's cap (a full bucket forgets
//! unused capacity) never applies, and spending a token at any moment of the lease is the same
//! as spending it at the grant: every admission, leased or not, is one an exact bucket would
//! have made. Unused tokens simply expire, which can only admit less.
//!
//! # When leases are taken
//!
//! Only for requests all of whose buckets have a burst of at least [`MIN_BURST`] (a lease on
//! one bucket is useless while another must go to Redis anyway), only on buckets that are busy
//! *on this batcher* (another request for the bucket within the last `ttl`), and only while
//! the bucket stays at least half full after the grant (the script enforces it). A lease is at most
//! `burst / 64` tokens; it starts at one token and doubles each time the last one was used up
//! before it expired, else it shrinks to what was used. So a bucket near its limit is decided
//! request by request in Redis, exactly as without leases. What leasing can cost is
//! under-admission, never over-admission: keeping the TAT `hold` ahead forgoes at most
//! `burst / 64` of refill each time leasing starts on a nearly full bucket, and tokens left
//! unused in leases when the bucket gets near its limit (at most `burst / 64` per batcher)
//! expire after `hold`.
//!
//! A request is admitted from leases only if every one of its enabled checks holds a lease with
//! enough tokens for the same policy; otherwise it goes to Redis whole, asking for leases on the
//! busy buckets that have none.

use std::collections::hash_map::RandomState;
use std::time::Duration;

use hashbrown::HashTable;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::policy::{BucketName, Check, Policy};

/// Smallest burst whose bucket is ever leased (its lease would be at most `burst / 64` = 4).
pub(crate) const MIN_BURST: u32 = 256;
/// Buckets remembered per batcher; past it, buckets whose lease is over are forgotten, and if
/// none is, new buckets are decided without leases.
const MAX_LEASES: usize = 4096;

/// One bucket's lease on this batcher, and what sizes the next one.
#[derive(Debug)]
struct Lease {
    name: BucketName,
    /// The policy the tokens were granted under; a request under another policy ignores them.
    policy: Policy,
    /// Tokens left, spendable until `expires`.
    tokens: u32,
    expires: Instant,
    /// Lower bound of the bucket's TAT after the grant, for the headers of leased decisions.
    tat: Instant,
    /// Size of the last grant.
    size: u32,
    /// When a request for this bucket was last seen: another one within `ttl` marks it busy.
    last_seen: Instant,
    /// A request asking for a lease on this bucket is in flight; others ask for none. Stale
    /// after `ttl` (its caller may have timed out and never reported back).
    asking_since: Option<Instant>,
}

impl Lease {
    fn live(&self, now: Instant) -> bool {
        now < self.expires && self.tokens > 0
    }
}

/// What to do with one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Admitted from leases; `ahead_us` per check (a lower bound of the bucket's TAT − now).
    Leased { ahead_us: Vec<u64> },
    /// Send it to Redis, asking for these extra tokens per check (0: no lease wanted).
    Ask { extra: Vec<u32> },
}

/// The leases of one batcher.
#[derive(Debug)]
pub(crate) struct Leases {
    ttl: Duration,
    hasher: RandomState,
    table: Mutex<HashTable<Lease>>,
}

impl Leases {
    /// Leases living `ttl`; `Duration::ZERO` disables them (every request asks for none).
    pub fn new(ttl: Duration) -> Self {
        Leases {
            ttl,
            hasher: RandomState::new(),
            table: Mutex::new(HashTable::new()),
        }
    }

    /// Admits `checks` (all enabled) for `cost` from leases if every one holds enough tokens,
    /// spending them; otherwise says which leases to ask for along with the Redis decision.
    pub fn plan(&self, checks: &[&Check], cost: u32, now: Instant) -> Plan {
        // A lease can only ever be spent by a request all of whose buckets hold one, so a
        // request with a small-burst bucket asks for none (they would expire unused).
        if self.ttl.is_zero() || checks.iter().any(|c| c.policy.burst_size < MIN_BURST) {
            return Plan::Ask {
                extra: vec![0; checks.len()],
            };
        }
        let hashes: Vec<u64> = checks
            .iter()
            .map(|c| BucketName::hash(&self.hasher, c.dimension, &c.key))
            .collect();
        let distinct = hashes
            .iter()
            .enumerate()
            .all(|(i, h)| !hashes[..i].contains(h));
        let mut table = self.table.lock();

        // A request naming one bucket twice (the server never does) is simply not leased.
        let covered = distinct
            && checks.iter().zip(&hashes).all(|(check, &hash)| {
                table
                    .find(hash, |l| l.name.is(check.dimension, &check.key))
                    .is_some_and(|l| l.policy == check.policy && l.live(now) && l.tokens >= cost)
            });
        if covered {
            let mut ahead_us = Vec::with_capacity(checks.len());
            for (check, &hash) in checks.iter().zip(&hashes) {
                if let Some(lease) =
                    table.find_mut(hash, |l| l.name.is(check.dimension, &check.key))
                {
                    lease.tokens = lease.tokens.saturating_sub(cost);
                    lease.last_seen = now;
                    ahead_us.push(micros(lease.tat.saturating_duration_since(now)));
                }
            }
            return Plan::Leased { ahead_us };
        }

        let extra = checks
            .iter()
            .zip(&hashes)
            .map(|(check, &hash)| self.wanted(&mut table, check, hash, now))
            .collect();
        Plan::Ask { extra }
    }

    /// How many tokens to ask for on one bucket of a request that goes to Redis, noting that
    /// it went.
    fn wanted(&self, table: &mut HashTable<Lease>, check: &Check, hash: u64, now: Instant) -> u32 {
        let cap = check.policy.burst_size / 64;
        let Some(lease) = table.find_mut(hash, |l| l.name.is(check.dimension, &check.key)) else {
            if table.len() >= MAX_LEASES {
                // Keep what is still in use: a live lease, or a bucket seen within ttl.
                table.retain(|l| l.expires > now || l.last_seen + self.ttl > now);
                if table.len() >= MAX_LEASES {
                    return 0;
                }
            }
            table.insert_unique(
                hash,
                Lease {
                    name: BucketName::of(hash, check),
                    policy: check.policy,
                    tokens: 0,
                    expires: now,
                    tat: now,
                    size: 0,
                    last_seen: now,
                    asking_since: None,
                },
                |l| l.name.hash,
            );
            return 0;
        };
        let busy = now.saturating_duration_since(lease.last_seen) < self.ttl;
        lease.last_seen = now;
        if lease.policy != check.policy {
            lease.policy = check.policy;
            lease.tokens = 0;
            lease.size = 0;
        }
        let asking = lease
            .asking_since
            .is_some_and(|since| now.saturating_duration_since(since) < self.ttl);
        if !busy || asking || lease.live(now) {
            // Idle, a grant is on its way, or tokens are left (the request goes to Redis for
            // another bucket's sake).
            return 0;
        }
        let next = if lease.size > 0 && lease.tokens == 0 {
            lease.size.saturating_mul(2)
        } else {
            (lease.size - lease.tokens.min(lease.size)).max(1)
        };
        lease.asking_since = Some(now);
        next.min(cap)
    }

    /// How long a lease on a bucket under `policy` lives: the configured length, but at most
    /// 1/64 of the bucket's tolerance (the script computes the same), so that keeping the
    /// bucket's TAT that far ahead forgoes at most `burst / 64` of its refill.
    fn hold(&self, policy: Policy) -> Duration {
        self.ttl
            .min(Duration::from_micros(policy.tolerance_us() / 64))
    }

    /// Records what Redis granted (`granted` tokens per check, for the `extra` asked) to a
    /// request of `cost` sent at `sent`, whose buckets were `ahead_us` ahead before it.
    pub fn granted(
        &self,
        checks: &[&Check],
        cost: u32,
        extra: &[u32],
        ahead_us: &[u64],
        granted: &[u64],
        sent: Instant,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let mut table = self.table.lock();
        for (i, check) in checks.iter().enumerate() {
            if extra.get(i).copied().unwrap_or(0) == 0 {
                continue;
            }
            let hash = BucketName::hash(&self.hasher, check.dimension, &check.key);
            let Some(lease) = table.find_mut(hash, |l| l.name.is(check.dimension, &check.key))
            else {
                continue;
            };
            lease.asking_since = None;
            let tokens = granted.get(i).map_or(0, |&g| u32::try_from(g).unwrap_or(0));
            if tokens == 0 || lease.policy != check.policy {
                continue;
            }
            let interval = check.policy.emission_interval_us();
            let hold = self.hold(check.policy);
            let before = ahead_us.get(i).copied().unwrap_or(0);
            let ahead = before
                .max(micros(hold))
                .saturating_add(u64::from(cost + tokens).saturating_mul(interval));
            let expires = sent + hold;
            if lease.live(sent) {
                // Tokens of an earlier grant are still there: all of them now expire with the
                // earlier one, which can only waste some.
                lease.tokens = lease.tokens.saturating_add(tokens);
            } else {
                lease.tokens = tokens;
                lease.expires = expires;
            }
            lease.tat = sent + Duration::from_micros(ahead);
            lease.size = tokens;
        }
    }

    /// Forgets the asks of a request that got no answer, so the next request may ask again.
    pub fn abandoned(&self, checks: &[&Check], extra: &[u32]) {
        if self.ttl.is_zero() {
            return;
        }
        let mut table = self.table.lock();
        for (check, _) in checks.iter().zip(extra).filter(|(_, &e)| e > 0) {
            let hash = BucketName::hash(&self.hasher, check.dimension, &check.key);
            if let Some(lease) = table.find_mut(hash, |l| l.name.is(check.dimension, &check.key)) {
                lease.asking_since = None;
            }
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Dimension;

    const TTL: Duration = Duration::from_millis(50);

    fn hot() -> Check {
        Check::new(
            Dimension::Identity,
            "svc",
            Policy {
                requests_per_minute: 600_000,
                // τ = 6.4 s, so leases live the whole ttl (τ / 64 = 100 ms > 50 ms).
                burst_size: 64_000,
                enabled: true,
            },
        )
    }

    fn ask(leases: &Leases, check: &Check, now: Instant) -> u32 {
        match leases.plan(&[check], 1, now) {
            Plan::Ask { extra } => extra[0],
            Plan::Leased { .. } => panic!("admitted from a lease"),
        }
    }

    /// Makes `check`'s bucket busy at `now`, asks for its first lease (one token) and records
    /// a grant of `tokens`.
    fn grant(leases: &Leases, check: &Check, now: Instant, tokens: u64) {
        leases.plan(&[check], 1, now);
        assert_eq!(ask(leases, check, now), 1);
        leases.granted(&[check], 1, &[1], &[0], &[tokens], now);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_bucket_asks_for_a_lease_that_doubles_while_used_up() {
        let leases = Leases::new(TTL);
        let check = hot();
        let t0 = Instant::now();
        assert_eq!(ask(&leases, &check, t0), 0, "first sight: not busy yet");
        let t1 = t0 + Duration::from_millis(1);
        assert_eq!(ask(&leases, &check, t1), 1, "second within ttl: busy");
        assert_eq!(ask(&leases, &check, t1), 0, "one ask in flight at a time");
        leases.granted(&[&check], 1, &[1], &[0], &[1], t1);
        assert!(matches!(leases.plan(&[&check], 1, t1), Plan::Leased { .. }));
        // Used up before it expired: the next one is twice as big, up to burst / 64.
        assert_eq!(ask(&leases, &check, t1), 2);
        leases.granted(&[&check], 1, &[2], &[0], &[2], t1);
        for _ in 0..2 {
            assert!(matches!(leases.plan(&[&check], 1, t1), Plan::Leased { .. }));
        }
        assert_eq!(ask(&leases, &check, t1), 4);
        leases.granted(&[&check], 1, &[4], &[0], &[1000], t1);
        let mut size = 1000;
        for _ in 0..10 {
            for _ in 0..size {
                assert!(matches!(leases.plan(&[&check], 1, t1), Plan::Leased { .. }));
            }
            let next = ask(&leases, &check, t1);
            assert!(next <= 1000, "{next} above burst / 64");
            leases.granted(&[&check], 1, &[next], &[0], &[u64::from(next)], t1);
            size = next;
        }
        assert_eq!(size, 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_spent_only_before_the_lease_expires() {
        let leases = Leases::new(TTL);
        let check = hot();
        let sent = Instant::now();
        grant(&leases, &check, sent, 10);
        let just_before = sent + TTL - Duration::from_micros(1);
        assert!(matches!(
            leases.plan(&[&check], 1, just_before),
            Plan::Leased { .. }
        ));
        // Nine tokens left, but the lease is over: to Redis, asking for what was used (1).
        assert_eq!(ask(&leases, &check, sent + TTL), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_leased_only_if_every_bucket_holds_tokens_under_its_policy() {
        let leases = Leases::new(TTL);
        let identity = hot();
        let context = Check::new(Dimension::Context, "payments", identity.policy);
        let now = Instant::now();
        leases.plan(&[&identity, &context], 1, now);
        let Plan::Ask { extra } = leases.plan(&[&identity, &context], 1, now) else {
            panic!("leased without a grant");
        };
        assert_eq!(extra, vec![1, 1]);
        // Redis granted the identity lease only (the context bucket was too empty).
        leases.granted(&[&identity, &context], 1, &extra, &[0, 0], &[1, 0], now);
        assert!(matches!(
            leases.plan(&[&identity, &context], 1, now),
            Plan::Ask { .. }
        ));
        // The identity's token is still there for a request that needs only it.
        assert!(matches!(
            leases.plan(&[&identity], 1, now),
            Plan::Leased { .. }
        ));

        // A changed policy ignores tokens granted under the old one.
        leases.plan(&[&identity], 1, now);
        let Plan::Ask { extra } = leases.plan(&[&identity], 1, now) else {
            panic!("leased without a grant");
        };
        leases.granted(&[&identity], 1, &extra, &[0], &[5], now);
        let mut lowered = identity.clone();
        lowered.policy.requests_per_minute = 60_000;
        assert!(matches!(leases.plan(&[&lowered], 1, now), Plan::Ask { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn small_bursts_and_disabled_leases_never_ask() {
        let mut small = hot();
        small.policy.burst_size = MIN_BURST - 1;
        let leases = Leases::new(TTL);
        let now = Instant::now();
        for _ in 0..10 {
            assert_eq!(ask(&leases, &small, now), 0);
        }
        // Nor does a busy large bucket requested together with a small one.
        let large = hot();
        for _ in 0..10 {
            let plan = leases.plan(&[&large, &small], 1, now);
            assert_eq!(plan, Plan::Ask { extra: vec![0, 0] });
        }
        let off = Leases::new(Duration::ZERO);
        for _ in 0..10 {
            assert_eq!(ask(&off, &hot(), now), 0);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_ask_does_not_block_the_next_one_for_long() {
        let leases = Leases::new(TTL);
        let check = hot();
        let now = Instant::now();
        leases.plan(&[&check], 1, now);
        assert_eq!(ask(&leases, &check, now), 1);
        assert_eq!(ask(&leases, &check, now), 0);
        leases.abandoned(&[&check], &[1]);
        assert_eq!(ask(&leases, &check, now), 1);
        // An ask whose caller vanished without a word goes stale after ttl.
        let later = now + TTL;
        leases.plan(&[&check], 1, later - Duration::from_millis(1));
        assert_eq!(ask(&leases, &check, later), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_header_estimate_counts_the_lease_and_the_hold_floor() {
        let leases = Leases::new(TTL);
        let check = hot();
        let now = Instant::now();
        grant(&leases, &check, now, 1);
        let Plan::Leased { ahead_us } = leases.plan(&[&check], 1, now) else {
            panic!("not leased");
        };
        // max(0, hold) + (cost 1 + 1 leased) × T (100 µs at 600 000/min).
        assert_eq!(ahead_us, vec![50_000 + 2 * 100]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_lives_at_most_a_64th_of_the_tolerance() {
        let leases = Leases::new(TTL);
        let mut check = hot();
        // τ = 640 ms: leases live 10 ms, not 50.
        check.policy.burst_size = 6_400;
        let now = Instant::now();
        grant(&leases, &check, now, 5);
        let hold = Duration::from_millis(10);
        assert!(matches!(
            leases.plan(&[&check], 1, now + hold - Duration::from_micros(1)),
            Plan::Leased { .. }
        ));
        assert!(matches!(
            leases.plan(&[&check], 1, now + hold),
            Plan::Ask { .. }
        ));
    }
}
