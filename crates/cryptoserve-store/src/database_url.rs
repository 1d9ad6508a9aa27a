//! Database URL parsing: which backend a URL selects and the spelling sqlx understands.
//!
//! Our scaling guide (written for the Python predecessor) uses `postgresql+asyncpg://`, so
//! operators paste that; we accept it along with `postgresql://` and `postgres://`.

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
    fn other_schemes_are_rejected_without_leaking_the_password() {
        let error = normalise_database_url("mysql://root:hunter2@db/x").unwrap_err();
        assert!(matches!(error, StoreError::InvalidUrl(_)));
        assert!(!error.to_string().contains("hunter2"));
    }
}
