//! The typed settings and how they are loaded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::Deserialize;

use super::env::{split_list, ENVIRONMENT, LIST_KEYS};
use super::tls::TlsSwitch;
use super::ConfigError;

/// `development` generates secrets and a SQLite database; `production` refuses to start
/// without explicit secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Local use: friendly defaults, loud warnings.
    Development,
    /// Real deployments: every secret explicit.
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (default in production).
    Json,
    /// Human-readable (default in development).
    Pretty,
}

/// What to do with a request when Redis cannot decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Decide locally with limits divided by the expected instance count.
    Open,
    /// Refuse the request (429).
    Closed,
}

/// Every setting of the server. Field docs name the environment variable.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `CRYPTOSERVE_ENV`: development (default) or production.
    pub env: Environment,
    /// `CRYPTOSERVE_LISTEN`: address to bind (default 127.0.0.1:8003).
    pub listen: SocketAddr,
    /// `CRYPTOSERVE_DATA_DIR`: where the development database and secrets live (./data).
    pub data_dir: PathBuf,
    /// `CRYPTOSERVE_INSTANCE_ID`: name of this instance in logs/metrics (default hostname).
    pub instance_id: Option<String>,
    /// `CRYPTOSERVE_BODY_LIMIT`: largest request body in bytes (1 MiB).
    pub body_limit: usize,
    /// `CRYPTOSERVE_MAX_BATCH_ITEMS`: most items in one batch call (100).
    pub max_batch_items: usize,
    /// `CRYPTOSERVE_TRUSTED_PROXIES`: CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `CRYPTOSERVE_SHUTDOWN_TIMEOUT`: seconds in-flight requests get to finish (30).
    pub shutdown_timeout: u64,
    /// `CRYPTOSERVE_SHUTDOWN_DELAY`: seconds between readiness turning 503 and the listener
    /// closing, so load balancers notice first (5).
    pub shutdown_delay: u64,
    /// `CRYPTOSERVE_LOG_FORMAT`: json or pretty (json in production, pretty in development).
    pub log_format: Option<LogFormat>,
    /// `CRYPTOSERVE_CACHE_REFRESH_MS`: how often metadata caches poll for changes (1000).
    pub cache_refresh_ms: u64,
    /// `CRYPTOSERVE_METADATA_MAX_STALENESS`: seconds the metadata cache may go without
    /// reaching the database before readiness fails (300); until then a database outage
    /// leaves the instance ready but `degraded`.
    pub metadata_max_staleness: u64,
    /// `CRYPTOSERVE_WORKERS`: HTTP worker threads (default: number of CPUs).
    pub workers: Option<usize>,
    /// `CRYPTOSERVE_MASTER_KEY`: 64 hex characters.
    pub master_key: Option<SecretString>,
    /// `CRYPTOSERVE_PREVIOUS_MASTER_KEYS`: older master keys still accepted for decryption.
    pub previous_master_keys: Vec<SecretString>,
    /// `JWT_SECRET_KEY`: HS256 signing secret (≥ 32 characters).
    pub jwt_secret_key: Option<SecretString>,
    /// `JWT_PREVIOUS_SECRET_KEYS`: older HS256 secrets whose tokens still verify until they
    /// expire (JWT secret rotation); new tokens are signed with `JWT_SECRET_KEY` only.
    pub jwt_previous_secret_keys: Vec<SecretString>,
    /// `CRYPTOSERVE_JWT_ISSUER`: `iss` claim issued and required ("cryptoserve").
    pub jwt_issuer: String,
    /// `CRYPTOSERVE_JWT_AUDIENCE`: `aud` claim issued and required ("cryptoserve").
    pub jwt_audience: String,
    /// `HKDF_SALT`: per-deployment derivation salt (≥ 16 characters).
    pub hkdf_salt: Option<SecretString>,
    /// `DATABASE_URL`: PostgreSQL or SQLite URL (default: SQLite in the data dir).
    pub database_url: Option<SecretString>,
    /// `DB_POOL_SIZE`: base connections per instance (10).
    pub db_pool_size: u32,
    /// `DB_MAX_OVERFLOW`: extra connections under load (20); pool max = size + overflow.
    pub db_max_overflow: u32,
    /// `DB_POOL_RECYCLE`: seconds after which a connection is replaced (3600).
    pub db_pool_recycle: u64,
    /// `REDIS_URL`: enables the cluster-wide rate limiter.
    pub redis_url: Option<SecretString>,
    /// `CRYPTOSERVE_REDIS_TIMEOUT_MS`: per-decision Redis timeout (50).
    pub redis_timeout_ms: u64,
    /// `CRYPTOSERVE_RATE_LIMIT_FALLBACK_INSTANCES`: divisor for local limits when Redis is
    /// unavailable (1).
    pub rate_limit_fallback_instances: u32,
    /// `CRYPTOSERVE_RATE_LIMIT_FAIL_MODE`: open (default) or closed.
    pub rate_limit_fail_mode: FailMode,
    /// `CRYPTOSERVE_RATE_LIMIT_LEASE_MS`: how long tokens leased from a busy Redis bucket may
    /// be spent in process (50); 0 decides every request in Redis.
    pub rate_limit_lease_ms: u64,
    /// `CRYPTOSERVE_TRANSIT_MOUNT`: the mount the Vault-Transit-compatible API answers under,
    /// `/v1/<mount>/...` ("transit").
    pub transit_mount: String,
    /// `CRYPTOSERVE_TLS`: `on` or `off`; unset: TLS when `CRYPTOSERVE_TLS_CERT` is set.
    pub tls: Option<TlsSwitch>,
    /// `CRYPTOSERVE_TLS_CERT`: PEM certificate chain of the main listener.
    pub tls_cert: Option<PathBuf>,
    /// `CRYPTOSERVE_TLS_KEY`: PEM private key of that certificate.
    pub tls_key: Option<PathBuf>,
    /// `CRYPTOSERVE_TLS_CLIENT_CA`: PEM CA bundle; when set, clients must present a
    /// certificate it signed (mutual TLS).
    pub tls_client_ca: Option<PathBuf>,
    /// `CRYPTOSERVE_TLS_RELOAD_INTERVAL`: seconds between checks of the certificate files for
    /// changes (10); 0 reloads on SIGHUP only.
    pub tls_reload_interval: u64,
    /// `CRYPTOSERVE_OPS_LISTEN`: optional plain-HTTP listener serving only `/health/*` and
    /// `/metrics`, for probes and scrapers that hold no client certificate.
    pub ops_listen: Option<SocketAddr>,
    /// `CRYPTOSERVE_USAGE_RETENTION_DAYS`: usage rows older than this many days are purged
    /// (90); 0 keeps them forever.
    pub usage_retention_days: u64,
    /// `CRYPTOSERVE_RETENTION_INTERVAL_SECS`: seconds between retention purges (3600).
    pub retention_interval_secs: u64,
}

impl Settings {
    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, |name| std::env::var(name).ok())
    }

    /// Like [`Settings::load`] with an explicit environment lookup (for tests).
    pub fn load_from(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .set_default("env", "development")?
            .set_default("listen", "127.0.0.1:8003")?
            .set_default("data_dir", "./data")?
            .set_default("body_limit", 1024 * 1024)?
            .set_default("max_batch_items", 100)?
            .set_default("trusted_proxies", Vec::<String>::new())?
            .set_default("shutdown_timeout", 30)?
            .set_default("shutdown_delay", 5)?
            .set_default("cache_refresh_ms", 1000)?
            .set_default("metadata_max_staleness", 300)?
            .set_default("previous_master_keys", Vec::<String>::new())?
            .set_default("jwt_previous_secret_keys", Vec::<String>::new())?
            .set_default("jwt_issuer", "cryptoserve")?
            .set_default("jwt_audience", "cryptoserve")?
            .set_default("db_pool_size", 10)?
            .set_default("db_max_overflow", 20)?
            .set_default("db_pool_recycle", 3600)?
            .set_default("redis_timeout_ms", 50)?
            .set_default("rate_limit_fallback_instances", 1)?
            .set_default("rate_limit_fail_mode", "open")?
            .set_default("rate_limit_lease_ms", 50)?
            .set_default("transit_mount", "transit")?
            .set_default("tls_reload_interval", 10)?
            .set_default("usage_retention_days", 90)?
            .set_default("retention_interval_secs", 3600)?;
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        for (variable, key) in ENVIRONMENT {
            let Some(value) = lookup(variable).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            builder = if LIST_KEYS.contains(key) {
                builder.set_override(*key, split_list(&value))?
            } else {
                builder.set_override(*key, value)?
            };
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let positive = |name: &'static str, value: u64| {
            if value == 0 {
                Err(ConfigError::Invalid {
                    name,
                    problem: "must be greater than zero".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("CRYPTOSERVE_BODY_LIMIT", self.body_limit as u64)?;
        positive("CRYPTOSERVE_MAX_BATCH_ITEMS", self.max_batch_items as u64)?;
        positive("DB_POOL_SIZE", u64::from(self.db_pool_size))?;
        positive("CRYPTOSERVE_CACHE_REFRESH_MS", self.cache_refresh_ms)?;
        positive(
            "CRYPTOSERVE_METADATA_MAX_STALENESS",
            self.metadata_max_staleness,
        )?;
        if self.metadata_max_staleness.saturating_mul(1000) <= self.cache_refresh_ms {
            return Err(ConfigError::Invalid {
                name: "CRYPTOSERVE_METADATA_MAX_STALENESS",
                problem: "must be longer than CRYPTOSERVE_CACHE_REFRESH_MS, or readiness fails \
                          between two refreshes"
                    .into(),
            });
        }
        positive("CRYPTOSERVE_REDIS_TIMEOUT_MS", self.redis_timeout_ms)?;
        positive(
            "CRYPTOSERVE_RETENTION_INTERVAL_SECS",
            self.retention_interval_secs,
        )?;
        positive(
            "CRYPTOSERVE_RATE_LIMIT_FALLBACK_INSTANCES",
            u64::from(self.rate_limit_fallback_instances),
        )?;
        let mount_ok = !self.transit_mount.is_empty()
            && self.transit_mount.len() <= 64
            && self
                .transit_mount
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !matches!(self.transit_mount.as_str(), "sys" | "auth" | "identity");
        if !mount_ok {
            return Err(ConfigError::Invalid {
                name: "CRYPTOSERVE_TRANSIT_MOUNT",
                problem: "must be 1-64 of letters, digits, '-', '_' or '.', and not sys, auth \
                          or identity"
                    .into(),
            });
        }
        self.check_tls()
    }

    /// The instance id: configured, else the hostname, else "cryptoserve".
    pub fn instance_id(&self) -> String {
        self.instance_id.clone().unwrap_or_else(|| {
            hostname::get()
                .ok()
                .and_then(|name| name.into_string().ok())
                .unwrap_or_else(|| "cryptoserve".to_owned())
        })
    }

    /// The effective log format.
    pub fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(match self.env {
            Environment::Production => LogFormat::Json,
            Environment::Development => LogFormat::Pretty,
        })
    }

    /// Delay between readiness 503 and closing the listener.
    pub fn shutdown_delay(&self) -> Duration {
        Duration::from_secs(self.shutdown_delay)
    }

    /// How long in-flight requests may take to finish at shutdown.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }

    /// Time between retention purges.
    pub fn retention_interval(&self) -> Duration {
        Duration::from_secs(self.retention_interval_secs)
    }

    /// Metadata cache polling interval.
    pub fn cache_refresh(&self) -> Duration {
        Duration::from_millis(self.cache_refresh_ms)
    }

    /// How old the metadata cache may grow during a database outage before readiness fails.
    pub fn metadata_max_staleness(&self) -> Duration {
        Duration::from_secs(self.metadata_max_staleness)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(None, |name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_documentation() {
        let s = load(&[]).unwrap();
        assert_eq!(s.env, Environment::Development);
        assert_eq!(s.listen.to_string(), "127.0.0.1:8003");
        assert_eq!(s.body_limit, 1024 * 1024);
        assert_eq!(
            (s.db_pool_size, s.db_max_overflow, s.db_pool_recycle),
            (10, 20, 3600)
        );
        assert_eq!(s.shutdown_timeout, 30);
        assert_eq!(s.max_batch_items, 100);
        assert_eq!(s.log_format(), LogFormat::Pretty);
    }

    #[test]
    fn guide_names_and_lists_are_read() {
        let s = load(&[
            ("DB_POOL_SIZE", "4"),
            ("DB_MAX_OVERFLOW", "6"),
            ("CRYPTOSERVE_ENV", "production"),
            ("CRYPTOSERVE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1/32"),
            ("CRYPTOSERVE_LISTEN", "0.0.0.0:9000"),
        ])
        .unwrap();
        assert_eq!((s.db_pool_size, s.db_max_overflow), (4, 6));
        assert_eq!(s.env, Environment::Production);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.log_format(), LogFormat::Json);
        assert_eq!(s.listen.port(), 9000);
    }

    #[test]
    fn metadata_max_staleness_defaults_to_five_minutes_and_outlasts_a_refresh() {
        let s = load(&[]).unwrap();
        assert_eq!(s.metadata_max_staleness(), Duration::from_secs(300));
        let s = load(&[("CRYPTOSERVE_METADATA_MAX_STALENESS", "2")]).unwrap();
        assert_eq!(s.metadata_max_staleness, 2);
        for bad in [
            vec![("CRYPTOSERVE_METADATA_MAX_STALENESS", "0")],
            vec![
                ("CRYPTOSERVE_METADATA_MAX_STALENESS", "5"),
                ("CRYPTOSERVE_CACHE_REFRESH_MS", "5000"),
            ],
        ] {
            let err = load(&bad).unwrap_err().to_string();
            assert!(err.contains("CRYPTOSERVE_METADATA_MAX_STALENESS"), "{err}");
        }
    }

    #[test]
    fn retention_and_previous_jwt_secrets_are_read() {
        let s = load(&[]).unwrap();
        assert_eq!(s.usage_retention_days, 90);
        assert_eq!(s.retention_interval(), Duration::from_secs(3600));
        assert!(s.jwt_previous_secret_keys.is_empty());
        let s = load(&[
            ("CRYPTOSERVE_USAGE_RETENTION_DAYS", "0"),
            ("CRYPTOSERVE_RETENTION_INTERVAL_SECS", "60"),
            (
                "JWT_PREVIOUS_SECRET_KEYS",
                "first-old-secret, second-old-secret",
            ),
        ])
        .unwrap();
        assert_eq!((s.usage_retention_days, s.retention_interval_secs), (0, 60));
        assert_eq!(s.jwt_previous_secret_keys.len(), 2);
        assert!(!format!("{s:?}").contains("old-secret"));
        let err = load(&[("CRYPTOSERVE_RETENTION_INTERVAL_SECS", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("CRYPTOSERVE_RETENTION_INTERVAL_SECS"), "{err}");
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        assert!(load(&[("DB_POOL_SIZE", "many")]).is_err());
        assert!(load(&[("CRYPTOSERVE_ENV", "staging")]).is_err());
        assert!(load(&[("CRYPTOSERVE_TRUSTED_PROXIES", "not-a-cidr")]).is_err());
        let err = load(&[("DB_POOL_SIZE", "0")]).unwrap_err().to_string();
        assert!(err.contains("DB_POOL_SIZE"), "{err}");
    }
}
