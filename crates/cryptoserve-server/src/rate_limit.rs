//! The server side of rate limiting: which policies apply to a request, and the headers.
//!
//! Policies (defaults per dimension, overrides per context and per identity) live in the
//! database; this module keeps a snapshot in memory, refreshed with the rest of the metadata
//! and immediately when another instance announces a change on Redis.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::thread::LocalKey;

use actix_web::http::header::{HeaderName, HeaderValue};
use parking_lot::RwLock;

use cryptoserve_ratelimit::{Check, Decision, Dimension, Limiter, Policy, RedisLane};
use cryptoserve_store::{RateLimitPolicyRecord, RateLimitScope};

use crate::error::ApiError;

/// The policies in force; by default the built-in defaults and no overrides.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Default per dimension (ip, identity, context).
    pub defaults: Defaults,
    /// Per-context overrides of the context dimension.
    pub contexts: HashMap<String, Policy>,
    /// Per-identity overrides of the identity dimension.
    pub identities: HashMap<String, Policy>,
}

/// The default policy of each dimension, indexed by the dimension: read three times per
/// request, where a `HashMap<Dimension, Policy>` hashed the dimension with SipHash each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults([Policy; 3]);

impl Defaults {
    /// The default policy of `dimension`.
    pub fn get(&self, dimension: Dimension) -> Policy {
        self.0[Self::index(dimension)]
    }

    /// Replaces the default policy of `dimension`.
    pub fn set(&mut self, dimension: Dimension, policy: Policy) {
        self.0[Self::index(dimension)] = policy;
    }

    /// Every dimension with its default, in `Dimension::ALL`'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Dimension, Policy)> + '_ {
        Dimension::ALL.into_iter().map(|d| (d, self.get(d)))
    }

    fn index(dimension: Dimension) -> usize {
        match dimension {
            Dimension::Ip => 0,
            Dimension::Identity => 1,
            Dimension::Context => 2,
        }
    }
}

impl Default for Defaults {
    /// The built-in defaults (`Policy::default_for`).
    fn default() -> Self {
        Self(Dimension::ALL.map(Policy::default_for))
    }
}

impl PolicySet {
    /// Builds the set from stored rows on top of the built-in defaults.
    pub fn from_records(records: &[RateLimitPolicyRecord]) -> Self {
        let mut set = Self::default();
        for record in records {
            let Some(dimension) = parse_dimension(record.dimension.as_str()) else {
                continue;
            };
            let policy = Policy {
                requests_per_minute: record.requests_per_minute,
                burst_size: record.burst_size,
                enabled: record.enabled,
            };
            match record.scope {
                RateLimitScope::Default => {
                    set.defaults.set(dimension, policy);
                }
                RateLimitScope::Context => {
                    set.contexts.insert(record.key.clone(), policy);
                }
                RateLimitScope::Identity => {
                    set.identities.insert(record.key.clone(), policy);
                }
            }
        }
        set
    }

    fn default_for(&self, dimension: Dimension) -> Policy {
        self.defaults.get(dimension)
    }

    /// The three checks for one request.
    pub fn checks(&self, ip: Option<IpAddr>, identity: &str, context: &str) -> Vec<Check> {
        let mut checks = Vec::with_capacity(3);
        if let Some(ip) = ip {
            checks.push(Check::new(
                Dimension::Ip,
                ip_key(ip),
                self.default_for(Dimension::Ip),
            ));
        }
        let identity_policy = self
            .identities
            .get(identity)
            .copied()
            .unwrap_or_else(|| self.default_for(Dimension::Identity));
        checks.push(Check::new(Dimension::Identity, identity, identity_policy));
        let context_policy = self
            .contexts
            .get(context)
            .copied()
            .unwrap_or_else(|| self.default_for(Dimension::Context));
        checks.push(Check::new(Dimension::Context, context, context_policy));
        checks
    }
}

/// The bucket key of a client address, the same text as its `Display`. IPv4 is written
/// octet by octet: `Ipv4Addr`'s `Display` formats through a padded stack buffer and cost more
/// than the rest of building the checks.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut key = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    key.push('.');
                }
                key.push_str(itoa::Buffer::new().format(octet));
            }
            key
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// Parses a dimension name from the API or database.
pub fn parse_dimension(text: &str) -> Option<Dimension> {
    Dimension::ALL.into_iter().find(|d| d.as_str() == text)
}

/// The limiter plus the policy snapshot.
#[derive(Debug)]
pub struct RateLimiting {
    /// Local or Redis-backed limiter.
    pub limiter: Limiter,
    policies: RwLock<PolicySet>,
}

/// One worker thread's [`RedisLane`], created on the worker's first rate-limited request so
/// that it runs on that worker's runtime. Each actix worker gets its own (app data is built
/// per worker), so with Redis a check never leaves the worker thread.
#[derive(Debug, Default)]
pub struct WorkerLane(OnceCell<Option<RedisLane>>);

impl WorkerLane {
    fn get(&self, limiter: &Limiter) -> Option<&RedisLane> {
        self.0.get_or_init(|| limiter.lane()).as_ref()
    }
}

/// `X-RateLimit-Limit`: the tightest applicable limit (requests per minute).
pub const LIMIT_HEADER: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// `X-RateLimit-Remaining`: requests left in the tightest bucket.
pub const REMAINING_HEADER: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// `X-RateLimit-Reset`: seconds until that bucket is full again.
pub const RESET_HEADER: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Headers for an admitted or refused request, built once as header values (no parsing of
/// names or intermediate strings on the hot path).
pub type RateHeaders = Vec<(HeaderName, HeaderValue)>;

impl RateLimiting {
    /// Wraps a limiter with the built-in default policies.
    pub fn new(limiter: Limiter) -> Self {
        Self {
            limiter,
            policies: RwLock::new(PolicySet::default()),
        }
    }

    /// Replaces the policy snapshot.
    pub fn set_policies(&self, policies: PolicySet) {
        *self.policies.write() = policies;
    }

    /// The current snapshot.
    pub fn policies(&self) -> PolicySet {
        self.policies.read().clone()
    }

    /// Decides a request of `cost` items. Admitted: the headers to send. Denied: a 429 error
    /// carrying the same headers and `Retry-After`.
    pub async fn admit(
        &self,
        lane: Option<&WorkerLane>,
        ip: Option<IpAddr>,
        identity: &str,
        context: &str,
        cost: u32,
    ) -> Result<(RateHeaders, Decision), ApiError> {
        let checks = self.policies.read().checks(ip, identity, context);
        let lane = lane.and_then(|lane| lane.get(&self.limiter));
        let decision = self.limiter.check_on(lane, &checks, cost).await;
        let headers = headers(&decision);
        if decision.allowed {
            return Ok((headers, decision));
        }
        let retry_after_secs = decision
            .retry_after
            .map(|d| (d.as_secs_f64().ceil() as u64).max(1));
        Err(ApiError::RateLimited {
            dimension: decision
                .denied_by
                .map(Dimension::as_str)
                .unwrap_or("request"),
            retry_after_secs,
            headers,
        })
    }
}

fn headers(decision: &Decision) -> RateHeaders {
    if decision.limit == 0 {
        // No enabled limit applied.
        return Vec::new();
    }
    let reset = decision.reset_after.as_secs_f64().ceil() as u64;
    vec![
        (
            LIMIT_HEADER,
            repeated_number(&LAST_LIMIT, u64::from(decision.limit)),
        ),
        (REMAINING_HEADER, HeaderValue::from(decision.remaining)),
        (RESET_HEADER, repeated_number(&LAST_RESET, reset)),
    ]
}

thread_local! {
    static LAST_LIMIT: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
    static LAST_RESET: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
}

/// `n` as a header value, the thread's previous one when `n` is the same again: the limit is
/// the same for every request under one policy and the reset a second or a few, while
/// `HeaderValue::from` allocates and formats each time (a clone shares the bytes).
fn repeated_number(
    last: &'static LocalKey<RefCell<Option<(u64, HeaderValue)>>>,
    n: u64,
) -> HeaderValue {
    last.with_borrow_mut(|last| match last {
        Some((value, header)) if *value == n => header.clone(),
        _ => {
            let header = HeaderValue::from(n);
            *last = Some((n, header.clone()));
            header
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dimension_keeps_its_own_default() {
        let mut defaults = Defaults::default();
        for d in Dimension::ALL {
            assert_eq!(defaults.get(d), Policy::default_for(d));
        }
        let custom = Policy {
            requests_per_minute: 7,
            burst_size: 3,
            enabled: false,
        };
        defaults.set(Dimension::Identity, custom);
        assert_eq!(defaults.get(Dimension::Identity), custom);
        assert_eq!(
            defaults.get(Dimension::Ip),
            Policy::default_for(Dimension::Ip)
        );
        assert_eq!(
            defaults.get(Dimension::Context),
            Policy::default_for(Dimension::Context)
        );
        let listed: Vec<_> = defaults.iter().collect();
        assert_eq!(
            listed,
            vec![
                (Dimension::Ip, Policy::default_for(Dimension::Ip)),
                (Dimension::Identity, custom),
                (Dimension::Context, Policy::default_for(Dimension::Context)),
            ]
        );
    }

    #[test]
    fn header_values_follow_the_decision_when_repeated_and_when_changed() {
        let decision = |limit: u32, remaining: u32, reset_ms: u64| Decision {
            allowed: true,
            limit,
            remaining,
            reset_after: std::time::Duration::from_millis(reset_ms),
            retry_after: None,
            denied_by: None,
            source: cryptoserve_ratelimit::DecisionSource::Local,
        };
        for (limit, remaining, reset_ms, reset) in [
            (100, 99, 600, "1"),
            (100, 98, 1_200, "2"),
            (100, 97, 1_200, "2"),
            (500, 499, 0, "0"),
            (100, 0, 59_001, "60"),
        ] {
            let headers = headers(&decision(limit, remaining, reset_ms));
            let text: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
                .collect();
            assert_eq!(
                text,
                [
                    ("x-ratelimit-limit", limit.to_string().as_str()),
                    ("x-ratelimit-remaining", remaining.to_string().as_str()),
                    ("x-ratelimit-reset", reset),
                ]
            );
        }
    }

    #[test]
    fn ip_keys_are_the_display_text() {
        for text in [
            "0.0.0.0",
            "9.10.99.100",
            "127.0.0.1",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(ip_key(ip), ip.to_string());
            assert_eq!(ip_key(ip), text);
        }
    }
}
