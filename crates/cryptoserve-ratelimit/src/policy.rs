//! What the server hands the limiter: a [`Dimension`], a [`Policy`] for it, and a [`Check`]
//! naming one bucket (dimension + key) under that policy; and `BucketName`, the hashed name the
//! in-process tables file a bucket under.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};

/// The axes a request is limited along; every request is checked on all enabled ones at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// The client's IP address: stops floods before authentication matters.
    Ip,
    /// The authenticated identity: one caller's fair share.
    Identity,
    /// The key context being used: protects one tenant's keys from everyone at once.
    Context,
}

impl Dimension {
    /// All dimensions, in the order decisions report ties.
    pub const ALL: [Dimension; 3] = [Dimension::Ip, Dimension::Identity, Dimension::Context];

    /// Stable lowercase name, used in Redis keys, metrics labels and error codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Ip => "ip",
            Dimension::Identity => "identity",
            Dimension::Context => "context",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How fast one bucket refills and how much it holds. See the crate docs for the exact
/// admission rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Steady rate; `0` is treated as `1` so a policy can never divide by zero.
    pub requests_per_minute: u32,
    /// Requests a full bucket admits at once; `0` is treated as `1`, since a bucket that
    /// admits nothing is better written as a blocked identity than as a limit.
    pub burst_size: u32,
    /// A disabled policy never limits, so operators can switch a dimension off without
    /// deleting its numbers.
    pub enabled: bool,
}

impl Policy {
    /// The built-in defaults: ip 200/min burst 50, identity 100/min burst 20, context 500/min
    /// burst 100.
    pub fn default_for(dimension: Dimension) -> Policy {
        let (requests_per_minute, burst_size) = match dimension {
            Dimension::Ip => (200, 50),
            Dimension::Identity => (100, 20),
            Dimension::Context => (500, 100),
        };
        Policy {
            requests_per_minute,
            burst_size,
            enabled: true,
        }
    }

    /// The policy one of `instances` independent limiters should enforce so that together
    /// they stay near the global limit (ceil-divided, never below 1).
    pub fn divided_by(self, instances: u32) -> Policy {
        let instances = instances.max(1);
        Policy {
            requests_per_minute: self.requests_per_minute.max(1).div_ceil(instances),
            burst_size: self.burst_size.max(1).div_ceil(instances),
            enabled: self.enabled,
        }
    }

    /// GCRA emission interval T in microseconds (60 s / rpm, at least 1 µs).
    pub(crate) fn emission_interval_us(self) -> u64 {
        (60_000_000 / u64::from(self.requests_per_minute.max(1))).max(1)
    }

    /// GCRA burst tolerance in microseconds: burst_size × T.
    pub(crate) fn tolerance_us(self) -> u64 {
        u64::from(self.burst_size.max(1)).saturating_mul(self.emission_interval_us())
    }
}

/// One bucket a request must fit into: which dimension, whose key, under which policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The dimension, reported back as `denied_by` when this bucket is the one that says no.
    pub dimension: Dimension,
    /// The bucket's key within the dimension (an IP, an identity id, a context name).
    pub key: String,
    /// The limits to apply; the server re-reads them from its database, we never store them.
    pub policy: Policy,
}

impl Check {
    /// Convenience constructor.
    pub fn new(dimension: Dimension, key: impl Into<String>, policy: Policy) -> Check {
        Check {
            dimension,
            key: key.into(),
            policy,
        }
    }
}

/// A bucket's name (dimension + key) and the hash it is filed under, for the in-process tables
/// (the local limiter's buckets, the Redis batchers' leases): a check is hashed once and its
/// entry found and updated without copying its key.
#[derive(Debug, Clone)]
pub(crate) struct BucketName {
    pub hash: u64,
    pub dimension: Dimension,
    pub key: Box<str>,
}

impl BucketName {
    /// The hash of the bucket `(dimension, key)` under `hasher`.
    pub fn hash(hasher: &RandomState, dimension: Dimension, key: &str) -> u64 {
        hasher.hash_one((dimension, key))
    }

    /// The name of `check`'s bucket, filed under `hash`.
    pub fn of(hash: u64, check: &Check) -> BucketName {
        BucketName {
            hash,
            dimension: check.dimension,
            key: check.key.as_str().into(),
        }
    }

    /// Whether this names the bucket `(dimension, key)`.
    pub fn is(&self, dimension: Dimension, key: &str) -> bool {
        self.dimension == dimension && *self.key == *key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_rounds_up_and_never_reaches_zero() {
        let policy = Policy {
            requests_per_minute: 100,
            burst_size: 1,
            enabled: true,
        };
        let third = policy.divided_by(3);
        assert_eq!(third.requests_per_minute, 34);
        assert_eq!(third.burst_size, 1);
        assert_eq!(policy.divided_by(0), policy);
    }

    #[test]
    fn intervals() {
        let policy = Policy::default_for(Dimension::Identity);
        assert_eq!(policy.emission_interval_us(), 600_000);
        assert_eq!(policy.tolerance_us(), 20 * 600_000);
    }
}
