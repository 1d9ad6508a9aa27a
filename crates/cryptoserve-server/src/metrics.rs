//! Typed Prometheus collectors, registered once on a private registry.
//!
//! Route labels are route templates (`/api/admin/contexts/{name}`), never raw paths, so label
//! cardinality stays bounded; unmatched routes are labelled `unmatched`.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Counters of one family resolved on first use and then reused. `with_label_values` hashes
/// every label and takes a read lock on each call; the crypto hot path would pay that several
/// times per request. A slot is filled on first use only, so no zero-valued series appears for
/// a label set that never happened.
#[derive(Debug, Clone)]
pub struct Resolved<const N: usize>([OnceLock<IntCounter>; N]);

impl<const N: usize> Default for Resolved<N> {
    fn default() -> Self {
        Self(std::array::from_fn(|_| OnceLock::new()))
    }
}

impl<const N: usize> Resolved<N> {
    /// The counter in `slot`, resolved with `labels` on first use. Slots past `N` are resolved
    /// on every call (correct, just not cached).
    pub fn get(&self, slot: usize, family: &IntCounterVec, labels: &[&str]) -> IntCounter {
        match self.0.get(slot) {
            Some(cell) => cell
                .get_or_init(|| family.with_label_values(labels))
                .clone(),
            None => family.with_label_values(labels),
        }
    }
}

/// All collectors.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route template, method and status.
    pub http_requests: IntCounterVec,
    /// Latency by route template and method.
    pub http_latency: HistogramVec,
    /// Crypto operations by operation, context, algorithm and outcome.
    pub crypto_operations: IntCounterVec,
    /// Plaintext bytes processed by operation.
    pub payload_bytes: IntCounterVec,
    /// Rate-limit decisions by source and result.
    pub rate_limit_decisions: IntCounterVec,
    /// Rate-limit denials by dimension.
    pub rate_limit_denials: IntCounterVec,
    /// Decisions by the limiter backend that made them (redis, local, fallback), mirrored
    /// from the limiter's own counters at scrape time.
    pub rate_limit_backend_decisions: IntCounterVec,
    /// Redis errors seen by the limiter, mirrored at scrape time.
    pub redis_errors: IntCounter,
    /// Rate-limit script runs sent to Redis (mirrored from the limiter).
    pub redis_round_trips: IntCounter,
    /// Redis-backed decisions admitted from leased tokens (mirrored from the limiter).
    pub rate_limit_lease_decisions: IntCounter,
    /// Database pool gauges (size, idle, in_use, max).
    pub db_pool: IntGaugeVec,
    /// Build information (always 1).
    pub build_info: IntGaugeVec,
    /// Contexts in the metadata cache.
    pub cached_contexts: IntGauge,
    /// Metadata refresh failures.
    pub metadata_refresh_failures: IntCounter,
    /// Seconds since the metadata cache last reached the database (set on scrape).
    pub metadata_age: IntGauge,
    /// `CRYPTOSERVE_METADATA_MAX_STALENESS`: the age past which readiness fails.
    pub metadata_max_staleness: IntGauge,
    /// Usage rows waiting to be written to the database.
    pub audit_queue_depth: IntGauge,
    /// Time to write one usage batch.
    pub audit_flush_latency: prometheus::Histogram,
    /// Usage rows dropped because the queue was full during a database outage.
    pub usage_rows_dropped: IntCounter,
    /// Latency of rate-limit decisions (Redis round trip or local).
    pub rate_limit_latency: prometheus::Histogram,
    /// `rate_limit_decisions{source, result="allowed"}` by decision source.
    pub allowed_by_source: Resolved<4>,
    /// `payload_bytes{operation}` by operation.
    pub payload_by_operation: Resolved<4>,
    /// The listener's certificate: expiry and reloads.
    pub tls: TlsMetrics,
    /// Rows deleted by the retention task, by table (`revoked_tokens`, `usage_counters`).
    pub retention_purged_rows: IntCounterVec,
}

/// Certificate gauges and reload counters (present whether or not TLS is on; they stay 0
/// without it).
#[derive(Debug, Clone)]
pub struct TlsMetrics {
    /// Unix time at which the served leaf certificate expires.
    pub certificate_expiry: IntGauge,
    /// Certificate reloads by result (`success`, `failure`).
    pub reloads: IntCounterVec,
    /// 1 while the files on disk changed but could not be loaded (the old pair is still
    /// served), else 0.
    pub reload_failing: IntGauge,
}

impl TlsMetrics {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let certificate_expiry = IntGauge::new(
            "cryptoserve_tls_certificate_expiry_timestamp_seconds",
            "Unix time at which the served TLS certificate expires",
        )?;
        let reloads = IntCounterVec::new(
            Opts::new(
                "cryptoserve_tls_reloads_total",
                "TLS certificate reloads by result",
            ),
            &["result"],
        )?;
        let reload_failing = IntGauge::new(
            "cryptoserve_tls_reload_failing",
            "1 while changed certificate files cannot be loaded and the previous pair is served",
        )?;
        registry.register(Box::new(certificate_expiry.clone()))?;
        registry.register(Box::new(reloads.clone()))?;
        registry.register(Box::new(reload_failing.clone()))?;
        Ok(Self {
            certificate_expiry,
            reloads,
            reload_failing,
        })
    }
}

impl Metrics {
    /// Creates and registers every collector.
    pub fn new(instance_id: &str) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new("cryptoserve_http_requests_total", "HTTP requests"),
            &["route", "method", "status"],
        )?;
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "cryptoserve_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5,
            ]),
            &["route", "method"],
        )?;
        let crypto_operations = IntCounterVec::new(
            Opts::new("cryptoserve_crypto_operations_total", "Crypto operations"),
            &["operation", "context", "algorithm", "outcome"],
        )?;
        let payload_bytes = IntCounterVec::new(
            Opts::new(
                "cryptoserve_payload_bytes_total",
                "Plaintext bytes processed",
            ),
            &["operation"],
        )?;
        let rate_limit_decisions = IntCounterVec::new(
            Opts::new(
                "cryptoserve_rate_limit_decisions_total",
                "Rate-limit decisions",
            ),
            &["source", "result"],
        )?;
        let rate_limit_denials = IntCounterVec::new(
            Opts::new(
                "cryptoserve_rate_limit_denials_total",
                "Requests refused by a rate limit",
            ),
            &["dimension"],
        )?;
        let rate_limit_backend_decisions = IntCounterVec::new(
            Opts::new(
                "cryptoserve_rate_limit_backend_decisions_total",
                "Rate-limit decisions by the backend that made them (fallback = Redis could not answer)",
            ),
            &["backend"],
        )?;
        let redis_errors = IntCounter::new(
            "cryptoserve_redis_errors_total",
            "Redis errors seen by the rate limiter",
        )?;
        let redis_round_trips = IntCounter::new(
            "cryptoserve_rate_limit_redis_round_trips_total",
            "Rate-limit script runs sent to Redis; concurrent checks share one on standalone Redis",
        )?;
        let rate_limit_lease_decisions = IntCounter::new(
            "cryptoserve_rate_limit_lease_decisions_total",
            "Redis-backed rate-limit decisions admitted from tokens leased ahead of time, without a round trip of their own",
        )?;
        let db_pool = IntGaugeVec::new(
            Opts::new(
                "cryptoserve_db_pool_connections",
                "Database pool connections",
            ),
            &["state"],
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("cryptoserve_build_info", "Build information"),
            &["version", "instance_id"],
        )?;
        let cached_contexts = IntGauge::new(
            "cryptoserve_cached_contexts",
            "Contexts in the metadata cache",
        )?;
        let metadata_refresh_failures = IntCounter::new(
            "cryptoserve_metadata_refresh_failures_total",
            "Metadata refreshes that could not reach the database",
        )?;
        let metadata_age = IntGauge::new(
            "cryptoserve_metadata_age_seconds",
            "Seconds since the metadata cache last reached the database",
        )?;
        let metadata_max_staleness = IntGauge::new(
            "cryptoserve_metadata_max_staleness_seconds",
            "Metadata age past which /health/ready answers 503 (CRYPTOSERVE_METADATA_MAX_STALENESS)",
        )?;
        let audit_queue_depth = IntGauge::new(
            "cryptoserve_audit_queue_depth",
            "Usage rows waiting to be written to the database",
        )?;
        let audit_flush_latency = prometheus::Histogram::with_opts(HistogramOpts::new(
            "cryptoserve_audit_flush_duration_seconds",
            "Time to write one usage batch",
        ))?;
        let usage_rows_dropped = IntCounter::new(
            "cryptoserve_usage_rows_dropped_total",
            "Usage rows dropped because the queue was full during a database outage",
        )?;
        let rate_limit_latency = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "cryptoserve_rate_limit_decision_duration_seconds",
                "Latency of rate-limit decisions (Redis round trip or in-process)",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            ]),
        )?;
        registry.register(Box::new(audit_queue_depth.clone()))?;
        registry.register(Box::new(audit_flush_latency.clone()))?;
        registry.register(Box::new(usage_rows_dropped.clone()))?;
        registry.register(Box::new(rate_limit_latency.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_latency.clone()))?;
        registry.register(Box::new(crypto_operations.clone()))?;
        registry.register(Box::new(payload_bytes.clone()))?;
        registry.register(Box::new(rate_limit_decisions.clone()))?;
        registry.register(Box::new(rate_limit_denials.clone()))?;
        registry.register(Box::new(rate_limit_backend_decisions.clone()))?;
        registry.register(Box::new(redis_errors.clone()))?;
        registry.register(Box::new(redis_round_trips.clone()))?;
        registry.register(Box::new(rate_limit_lease_decisions.clone()))?;
        registry.register(Box::new(db_pool.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        registry.register(Box::new(cached_contexts.clone()))?;
        registry.register(Box::new(metadata_refresh_failures.clone()))?;
        registry.register(Box::new(metadata_age.clone()))?;
        registry.register(Box::new(metadata_max_staleness.clone()))?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), instance_id])
            .set(1);
        let tls = TlsMetrics::new(&registry)?;
        let retention_purged_rows = IntCounterVec::new(
            Opts::new(
                "cryptoserve_retention_purged_rows_total",
                "Rows deleted by the retention task, by table",
            ),
            &["table"],
        )?;
        registry.register(Box::new(retention_purged_rows.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_latency,
            crypto_operations,
            payload_bytes,
            rate_limit_decisions,
            rate_limit_denials,
            rate_limit_backend_decisions,
            redis_errors,
            redis_round_trips,
            rate_limit_lease_decisions,
            db_pool,
            build_info,
            cached_contexts,
            metadata_refresh_failures,
            audit_queue_depth,
            metadata_age,
            metadata_max_staleness,
            audit_flush_latency,
            usage_rows_dropped,
            rate_limit_latency,
            allowed_by_source: Resolved::default(),
            payload_by_operation: Resolved::default(),
            tls,
            retention_purged_rows,
        })
    }

    /// Brings the mirrored limiter counters up to the limiter's own totals.
    pub fn mirror_limiter(&self, stats: &cryptoserve_ratelimit::LimiterStats) {
        for (backend, total) in [
            ("redis", stats.redis_decisions),
            ("local", stats.local_decisions),
            ("fallback", stats.fallback_decisions),
        ] {
            catch_up(
                &self
                    .rate_limit_backend_decisions
                    .with_label_values(&[backend]),
                total,
            );
        }
        catch_up(&self.redis_errors, stats.redis_errors);
        catch_up(&self.redis_round_trips, stats.redis_round_trips);
        catch_up(&self.rate_limit_lease_decisions, stats.lease_decisions);
    }

    /// Text exposition of every collector.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}

/// Raises a mirrored counter to `total` (counters only go up; a lower total is ignored).
fn catch_up(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}
