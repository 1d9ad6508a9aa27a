//! What each CLI command does (the binary's `main` only dispatches here).

use secrecy::ExposeSecret;

use cryptoserve_store::{AuditEntry, Role};

use crate::auth::identities::{create_identity, IdentityRequest};
use crate::auth::TokenService;
use crate::cli::{CreateIdentityArgs, DevCertArgs};
use crate::config::{secrets, Settings};
use crate::startup::{connect_store, Application, StartOptions};
use crate::tls::dev_cert::{write_dev_certs, DevCertRequest};

/// `cryptoserve serve`
pub async fn serve(settings: Settings, migrate: bool) -> anyhow::Result<()> {
    let app = Application::build(settings.clone(), StartOptions { migrate }).await?;
    tracing::info!(
        listen = %settings.listen,
        port = app.port(),
        instance_id = %settings.instance_id(),
        "cryptoserve listening"
    );
    app.run_until_stopped().await
}

/// Prints development warnings in a box nobody can miss.
pub fn print_warnings(warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    eprintln!("********************************************************************************");
    eprintln!("*  WARNING: DEVELOPMENT SECRETS IN USE — NOT FOR PRODUCTION DATA               *");
    for warning in warnings {
        eprintln!("*  {warning}");
    }
    eprintln!("*  Set CRYPTOSERVE_ENV=production with real secrets (`cryptoserve keygen`).   *");
    eprintln!("********************************************************************************");
}

/// `cryptoserve migrate`
pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let resolved = secrets::resolve(&settings)?;
    print_warnings(&resolved.warnings);
    let store = connect_store(&settings, &resolved).await?;
    store.migrate().await?;
    store.close().await?;
    eprintln!("migrations applied");
    Ok(())
}

/// `cryptoserve keygen`
pub fn keygen() -> anyhow::Result<()> {
    let generated = secrets::generate()?;
    println!("CRYPTOSERVE_MASTER_KEY={}", generated.master_key.as_str());
    println!("JWT_SECRET_KEY={}", generated.jwt_secret.as_str());
    println!("HKDF_SALT={}", generated.hkdf_salt);
    eprintln!("# Set these identically on every instance; keep them in a secret store.");
    Ok(())
}

/// `cryptoserve tls dev-cert`: certificates for development and tests; the environment
/// lines that use them go to stdout.
pub fn tls_dev_cert(args: &DevCertArgs) -> anyhow::Result<()> {
    let request = DevCertRequest {
        out: args.out.clone(),
        hosts: args.hosts.clone(),
        days: args.days,
        new_ca: args.new_ca,
    };
    let reused = write_dev_certs(&request)?;
    let out = std::fs::canonicalize(&args.out)?;
    let path = |name: &str| out.join(name).display().to_string();
    println!("CRYPTOSERVE_TLS_CERT={}", path("server.crt"));
    println!("CRYPTOSERVE_TLS_KEY={}", path("server.key"));
    println!("CRYPTOSERVE_CACERT={}", path("ca.crt"));
    eprintln!(
        "# {} CA {}; server and client certificates valid for {} days.",
        if reused { "Reused the" } else { "Made a new" },
        path("ca.crt"),
        args.days
    );
    eprintln!(
        "# Mutual TLS: CRYPTOSERVE_TLS_CLIENT_CA={} and give clients {} / {}. \
         Development only: the CA key is in the same directory.",
        path("ca.crt"),
        path("client.crt"),
        path("client.key")
    );
    Ok(())
}

/// `cryptoserve identity create`
pub async fn identity_create(settings: Settings, args: CreateIdentityArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role)
        .map_err(|_| anyhow::anyhow!("--role must be `admin` or `service`"))?;
    let resolved = secrets::resolve(&settings)?;
    print_warnings(&resolved.warnings);
    let store = connect_store(&settings, &resolved).await?;
    // A first run may create the schema; through PgBouncer it must exist already (migrations
    // need a direct connection).
    if !store.through_pgbouncer() {
        store.migrate().await?;
    }
    let tokens = TokenService::new(
        &resolved.jwt_secret,
        &settings.jwt_issuer,
        &settings.jwt_audience,
    );
    let audit = AuditEntry::new("cli", "identity.create", &args.name)
        .with_details(serde_json::json!({ "role": role.as_str(), "contexts": args.contexts }));
    let request = IdentityRequest {
        name: args.name,
        role,
        contexts: args.contexts,
        expires_in_days: args.expires_in_days,
    };
    let (identity, token) = create_identity(&store, &tokens, request, audit)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await?;
    eprintln!(
        "created {} identity `{}` ({}), expires {}",
        identity.role,
        identity.name,
        identity.id,
        identity
            .expires_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into())
    );
    println!("{token}");
    Ok(())
}

/// `cryptoserve config show`
pub fn config_show(settings: &Settings) -> anyhow::Result<()> {
    let redact = |value: &Option<secrecy::SecretString>| match value {
        Some(_) => "[redacted]".to_owned(),
        None => "(not set)".to_owned(),
    };
    // Showing the configuration must not create development secrets as a side effect: only
    // resolve (to print the master key id) when the key already exists somewhere.
    let key_exists =
        settings.master_key.is_some() || settings.data_dir.join("master.key").is_file();
    let resolved = key_exists
        .then(|| secrets::resolve(settings).ok())
        .flatten();
    let lines = [
        (
            "CRYPTOSERVE_ENV",
            format!("{:?}", settings.env).to_lowercase(),
        ),
        ("CRYPTOSERVE_LISTEN", settings.listen.to_string()),
        (
            "CRYPTOSERVE_DATA_DIR",
            settings.data_dir.display().to_string(),
        ),
        ("CRYPTOSERVE_INSTANCE_ID", settings.instance_id()),
        ("CRYPTOSERVE_BODY_LIMIT", settings.body_limit.to_string()),
        (
            "CRYPTOSERVE_MAX_BATCH_ITEMS",
            settings.max_batch_items.to_string(),
        ),
        (
            "CRYPTOSERVE_TRUSTED_PROXIES",
            settings
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "CRYPTOSERVE_SHUTDOWN_TIMEOUT",
            settings.shutdown_timeout.to_string(),
        ),
        (
            "CRYPTOSERVE_SHUTDOWN_DELAY",
            settings.shutdown_delay.to_string(),
        ),
        (
            "CRYPTOSERVE_LOG_FORMAT",
            format!("{:?}", settings.log_format()).to_lowercase(),
        ),
        (
            "CRYPTOSERVE_CACHE_REFRESH_MS",
            settings.cache_refresh_ms.to_string(),
        ),
        (
            "CRYPTOSERVE_METADATA_MAX_STALENESS",
            settings.metadata_max_staleness.to_string(),
        ),
        ("CRYPTOSERVE_MASTER_KEY", redact(&settings.master_key)),
        (
            "CRYPTOSERVE_PREVIOUS_MASTER_KEYS",
            format!("[{} redacted]", settings.previous_master_keys.len()),
        ),
        ("JWT_SECRET_KEY", redact(&settings.jwt_secret_key)),
        (
            "JWT_PREVIOUS_SECRET_KEYS",
            format!("[{} redacted]", settings.jwt_previous_secret_keys.len()),
        ),
        ("HKDF_SALT", redact(&settings.hkdf_salt)),
        ("DATABASE_URL", redact(&settings.database_url)),
        ("DB_POOL_SIZE", settings.db_pool_size.to_string()),
        ("DB_MAX_OVERFLOW", settings.db_max_overflow.to_string()),
        ("DB_POOL_RECYCLE", settings.db_pool_recycle.to_string()),
        ("REDIS_URL", redact(&settings.redis_url)),
        (
            "CRYPTOSERVE_REDIS_TIMEOUT_MS",
            settings.redis_timeout_ms.to_string(),
        ),
        (
            "CRYPTOSERVE_RATE_LIMIT_FALLBACK_INSTANCES",
            settings.rate_limit_fallback_instances.to_string(),
        ),
        (
            "CRYPTOSERVE_RATE_LIMIT_FAIL_MODE",
            format!("{:?}", settings.rate_limit_fail_mode).to_lowercase(),
        ),
        (
            "CRYPTOSERVE_RATE_LIMIT_LEASE_MS",
            settings.rate_limit_lease_ms.to_string(),
        ),
        ("CRYPTOSERVE_TRANSIT_MOUNT", settings.transit_mount.clone()),
        (
            "CRYPTOSERVE_TLS",
            settings
                .tls
                .map_or("(not set)".to_owned(), |t| format!("{t:?}").to_lowercase()),
        ),
        ("CRYPTOSERVE_TLS_CERT", path_or_unset(&settings.tls_cert)),
        ("CRYPTOSERVE_TLS_KEY", path_or_unset(&settings.tls_key)),
        (
            "CRYPTOSERVE_TLS_CLIENT_CA",
            path_or_unset(&settings.tls_client_ca),
        ),
        (
            "CRYPTOSERVE_TLS_RELOAD_INTERVAL",
            settings.tls_reload_interval.to_string(),
        ),
        (
            "CRYPTOSERVE_OPS_LISTEN",
            settings
                .ops_listen
                .map_or("(not set)".to_owned(), |a| a.to_string()),
        ),
        (
            "CRYPTOSERVE_USAGE_RETENTION_DAYS",
            settings.usage_retention_days.to_string(),
        ),
        (
            "CRYPTOSERVE_RETENTION_INTERVAL_SECS",
            settings.retention_interval_secs.to_string(),
        ),
    ];
    for (name, value) in lines {
        println!("{name}={value}");
    }
    if let Some(resolved) = resolved {
        println!("# active master key id: {}", resolved.keyring.active().id());
        let _ = resolved.database_url.expose_secret();
    }
    Ok(())
}

fn path_or_unset(path: &Option<std::path::PathBuf>) -> String {
    path.as_ref()
        .map_or("(not set)".to_owned(), |p| p.display().to_string())
}
