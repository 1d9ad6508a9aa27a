//! Database URL parsing: which backend a URL selects and the spelling sqlx understands.
//!
//! Our scaling guide (written for the Python predecessor) uses `postgresql+asyncpg://`, so
//! operators paste that; we accept it along with `postgresql://` and `postgres://`.
//!
//! A PostgreSQL URL may carry `pgbouncer=true` (the spelling other drivers use): the
//! connection goes through PgBouncer in transaction mode, so no session state may be relied
//! on between transactions. [`pgbouncer_flag`] takes it out before sqlx sees the URL.

use crate::error::{Result, StoreError};

/// The database engine behind a [`crate::Store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: the production backend, shared by all instances.
    Postgres,
    /// SQLite: single-instance deployments and quick local runs.
    Sqlite,
}

impl Backend {
    /// Stable lower-case name for health output and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

const POSTGRES_SCHEMES: [&str; 3] = ["postgresql+asyncpg://", "postgresql://", "postgres://"];

/// Returns the backend and the URL rewritten to the scheme sqlx expects.
/// The error never echoes the URL, which may carry a password.
pub fn normalise_database_url(url: &str) -> Result<(Backend, String)> {
    let trimmed = url.trim();
    for scheme in POSTGRES_SCHEMES {
        if let Some(rest) = strip_prefix_ignore_case(trimmed, scheme) {
            return Ok((Backend::Postgres, format!("postgres://{rest}")));
        }
    }
    if strip_prefix_ignore_case(trimmed, "sqlite:").is_some() {
        return Ok((Backend::Sqlite, trimmed.to_owned()));
    }
    let scheme = trimmed.split(':').next().unwrap_or_default();
    Err(StoreError::InvalidUrl(format!(
        "scheme `{scheme}` is not postgres://, postgresql://, postgresql+asyncpg:// or sqlite:"
    )))
}

/// Removes the `pgbouncer` query parameter from a (normalised) PostgreSQL URL and says
/// whether it was `true`. `false` or no parameter: a direct connection. Any other value is an
/// error, so a typo cannot silently select the direct mode.
pub fn pgbouncer_flag(url: &str) -> Result<(String, bool)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), false));
    };
    let mut pgbouncer = false;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !key.eq_ignore_ascii_case("pgbouncer") {
            kept.push(pair);
            continue;
        }
        pgbouncer = match value.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(StoreError::InvalidUrl(
                    "pgbouncer= must be true or false".to_owned(),
                ))
            }
        };
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, pgbouncer))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asyncpg_spelling_becomes_plain_postgres() {
        let (backend, url) =
            normalise_database_url("postgresql+asyncpg://app:secret@db:5432/cryptoserve").unwrap();
        assert_eq!(backend, Backend::Postgres);
        assert_eq!(url, "postgres://app:secret@db:5432/cryptoserve");
    }

    #[test]
    fn postgresql_and_postgres_schemes_are_accepted() {
        for input in ["postgresql://h/db", "postgres://h/db", "POSTGRESQL://h/db"] {
            let (backend, url) = normalise_database_url(input).unwrap();
            assert_eq!(backend, Backend::Postgres);
            assert_eq!(url, "postgres://h/db");
        }
    }

    #[test]
    fn sqlite_urls_are_kept_verbatim() {
        for input in [
            "sqlite::memory:",
            "sqlite:///tmp/x.db?mode=rwc",
            "sqlite://x.db",
        ] {
            let (backend, url) = normalise_database_url(input).unwrap();
            assert_eq!(backend, Backend::Sqlite);
            assert_eq!(url, input);
        }
    }

    #[test]
    fn pgbouncer_flag_is_taken_out_and_read() {
        let cases = [
            ("postgres://h/db", "postgres://h/db", false),
            ("postgres://h/db?pgbouncer=true", "postgres://h/db", true),
            ("postgres://h/db?pgbouncer=TRUE", "postgres://h/db", true),
            ("postgres://h/db?pgbouncer=false", "postgres://h/db", false),
            (
                "postgres://h/db?sslmode=require&pgbouncer=1&application_name=x",
                "postgres://h/db?sslmode=require&application_name=x",
                true,
            ),
            (
                "postgres://h/db?sslmode=disable",
                "postgres://h/db?sslmode=disable",
                false,
            ),
        ];
        for (input, url, flag) in cases {
            assert_eq!(
                pgbouncer_flag(input).unwrap(),
                (url.to_owned(), flag),
                "{input}"
            );
        }
    }

    #[test]
    fn a_pgbouncer_typo_is_an_error_not_a_direct_connection() {
        let error = pgbouncer_flag("postgres://u:hunter2@h/db?pgbouncer=yes").unwrap_err();
        assert!(matches!(error, StoreError::InvalidUrl(_)));
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn other_schemes_are_rejected_without_leaking_the_password() {
        let error = normalise_database_url("mysql://root:hunter2@db/x").unwrap_err();
        assert!(matches!(error, StoreError::InvalidUrl(_)));
        assert!(!error.to_string().contains("hunter2"));
    }
}
