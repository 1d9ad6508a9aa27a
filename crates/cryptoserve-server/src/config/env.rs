//! The one table of environment variable names.

/// (environment variable, settings key). The settings key is also the key in
/// `cryptoserve.toml`.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("CRYPTOSERVE_ENV", "env"),
    ("CRYPTOSERVE_LISTEN", "listen"),
    ("CRYPTOSERVE_DATA_DIR", "data_dir"),
    ("CRYPTOSERVE_INSTANCE_ID", "instance_id"),
    ("CRYPTOSERVE_BODY_LIMIT", "body_limit"),
    ("CRYPTOSERVE_MAX_BATCH_ITEMS", "max_batch_items"),
    ("CRYPTOSERVE_TRUSTED_PROXIES", "trusted_proxies"),
    ("CRYPTOSERVE_SHUTDOWN_TIMEOUT", "shutdown_timeout"),
    ("CRYPTOSERVE_SHUTDOWN_DELAY", "shutdown_delay"),
    ("CRYPTOSERVE_LOG_FORMAT", "log_format"),
    ("CRYPTOSERVE_CACHE_REFRESH_MS", "cache_refresh_ms"),
    (
        "CRYPTOSERVE_METADATA_MAX_STALENESS",
        "metadata_max_staleness",
    ),
    ("CRYPTOSERVE_WORKERS", "workers"),
    ("CRYPTOSERVE_MASTER_KEY", "master_key"),
    ("CRYPTOSERVE_PREVIOUS_MASTER_KEYS", "previous_master_keys"),
    ("JWT_SECRET_KEY", "jwt_secret_key"),
    ("JWT_PREVIOUS_SECRET_KEYS", "jwt_previous_secret_keys"),
    ("CRYPTOSERVE_JWT_ISSUER", "jwt_issuer"),
    ("CRYPTOSERVE_JWT_AUDIENCE", "jwt_audience"),
    ("HKDF_SALT", "hkdf_salt"),
    ("DATABASE_URL", "database_url"),
    ("DB_POOL_SIZE", "db_pool_size"),
    ("DB_MAX_OVERFLOW", "db_max_overflow"),
    ("DB_POOL_RECYCLE", "db_pool_recycle"),
    ("REDIS_URL", "redis_url"),
    ("CRYPTOSERVE_REDIS_TIMEOUT_MS", "redis_timeout_ms"),
    (
        "CRYPTOSERVE_RATE_LIMIT_FALLBACK_INSTANCES",
        "rate_limit_fallback_instances",
    ),
    ("CRYPTOSERVE_RATE_LIMIT_FAIL_MODE", "rate_limit_fail_mode"),
    ("CRYPTOSERVE_RATE_LIMIT_LEASE_MS", "rate_limit_lease_ms"),
    ("CRYPTOSERVE_TRANSIT_MOUNT", "transit_mount"),
    ("CRYPTOSERVE_TLS", "tls"),
    ("CRYPTOSERVE_TLS_CERT", "tls_cert"),
    ("CRYPTOSERVE_TLS_KEY", "tls_key"),
    ("CRYPTOSERVE_TLS_CLIENT_CA", "tls_client_ca"),
    ("CRYPTOSERVE_TLS_RELOAD_INTERVAL", "tls_reload_interval"),
    ("CRYPTOSERVE_OPS_LISTEN", "ops_listen"),
    ("CRYPTOSERVE_USAGE_RETENTION_DAYS", "usage_retention_days"),
    (
        "CRYPTOSERVE_RETENTION_INTERVAL_SECS",
        "retention_interval_secs",
    ),
];

/// Settings that hold lists; their environment values are comma-separated.
pub const LIST_KEYS: &[&str] = &[
    "trusted_proxies",
    "previous_master_keys",
    "jwt_previous_secret_keys",
];

/// Splits a comma-separated environment value into trimmed, non-empty items.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
