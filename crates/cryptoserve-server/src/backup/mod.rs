//! `cryptoserve export` and `cryptoserve import`: every piece of metadata (contexts, key
//! versions, identities, revocations, rate-limit policies, the audit chain, usage counters)
//! to and from one MAC-sealed JSON file (`file.rs`), offline against the configured database,
//! with the same settings and secrets as `serve`. No key material is ever in the file: the
//! master key and HKDF salt must be kept separately (`docs/operations/backup-restore.md`).
//!
//! Exit codes: 0 done, 1 any other failure (database unreachable, unwritable file, ...),
//! 2 invalid configuration, 3 the file is refused (not a backup, MAC fails, master key not
//! configured, newer schema), 4 the database refuses it (not empty without `--merge`, or a
//! merge conflict); for 3 and 4 nothing was written.

mod file;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cryptoserve_store::{AuditEntry, ImportMode, StoreError};

use crate::commands::print_warnings;
use crate::config::{secrets, Settings};
use crate::startup::connect_store;

pub use file::{open, seal, OpenedBackup, FORMAT, VERSION};

/// Why an export or import stopped; [`BackupError::exit_code`] is the process's exit code.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file cannot be imported here; nothing was written (exit 3).
    #[error("backup refused: {0}")]
    Refused(String),
    /// The database holds rows and `--merge` was not given; nothing was written (exit 4).
    #[error(
        "import refused: {0}; import into an empty database, or pass --merge to add the \
             file's rows to these; nothing was written"
    )]
    NotEmpty(String),
    /// `--merge` found a row that differs from the database's; nothing was written (exit 4).
    #[error("import refused: {0}; nothing was written")]
    Conflict(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl BackupError {
    /// The documented exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            BackupError::Refused(_) => 3,
            BackupError::NotEmpty(_) | BackupError::Conflict(_) => 4,
            BackupError::Failed(_) => 1,
        }
    }
}

/// The exit code for a command's error: a backup error's own, else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    error
        .downcast_ref::<BackupError>()
        .map_or(1, BackupError::exit_code)
}

/// `cryptoserve export --out FILE` (`-` for stdout): one consistent snapshot of every table,
/// sealed under the active master key.
pub async fn export(settings: Settings, out: &Path) -> anyhow::Result<()> {
    let resolved = secrets::resolve(&settings)?;
    print_warnings(&resolved.warnings);
    let store = connect_store(&settings, &resolved).await?;
    let tables = store.export_tables().await?;
    let source = store.backend();
    store.close().await?;
    let bytes = seal(&tables, &resolved.keyring, &resolved.salt, source)?;
    write_file(out, &bytes)?;
    eprintln!(
        "exported {} from {source} under master key {} to {} ({} bytes)",
        describe(&tables.row_counts()),
        resolved.keyring.active().id(),
        display(out),
        bytes.len()
    );
    if let Some((id, mac)) = tables.audit_head() {
        eprintln!("audit chain head: row {id}, mac {mac}");
    }
    eprintln!("the file holds no keys: keep the master key and HKDF_SALT elsewhere to restore it");
    Ok(())
}

/// `cryptoserve import FILE [--merge]`: checks the file, migrates the database, writes every
/// row back in one transaction and appends a `backup.import` audit row.
pub async fn import(settings: Settings, path: &Path, merge: bool) -> anyhow::Result<()> {
    let bytes = read_file(path)?;
    let resolved = secrets::resolve(&settings)?;
    print_warnings(&resolved.warnings);
    let opened = open(&bytes, &resolved.keyring, &resolved.salt)?;
    let configured: Vec<String> = resolved
        .keyring
        .ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let missing: Vec<String> = opened
        .tables
        .master_key_ids()
        .into_iter()
        .filter(|id| !configured.contains(id))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "warning: key versions derive from master keys that are not configured ({}); \
             their ciphertext will not decrypt until those keys are added to \
             CRYPTOSERVE_PREVIOUS_MASTER_KEYS",
            missing.join(", ")
        );
    }
    let store = connect_store(&settings, &resolved).await?;
    store.migrate().await?;
    let mode = if merge {
        ImportMode::Merge
    } else {
        ImportMode::EmptyOnly
    };
    let audit = AuditEntry::new("cli", "backup.import", display(path)).with_details(
        serde_json::json!({
            "created_at": opened.created_at,
            "master_key_id": opened.master_key_id.to_string(),
            "source": opened.source,
            "merge": merge,
            "rows": opened.tables.row_counts().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        }),
    );
    let summary = match store.import_tables(&opened.tables, mode, audit).await {
        Ok(summary) => summary,
        Err(StoreError::NotEmpty(tables)) => {
            return Err(
                BackupError::NotEmpty(format!("the database is not empty ({tables})")).into(),
            )
        }
        Err(error @ StoreError::BackupConflict { .. }) => {
            return Err(BackupError::Conflict(error.to_string()).into())
        }
        Err(error) => return Err(error.into()),
    };
    let verification = store.verify_audit_chain().await?;
    store.close().await?;
    eprintln!(
        "imported {} (exported {} from {}); {} rows already present",
        describe(&summary.inserted),
        opened.created_at,
        opened.source,
        summary.already_present
    );
    if verification.ok {
        eprintln!(
            "audit chain verifies: {} rows, the last (id {}) records this import",
            verification.rows_checked, summary.audit.id
        );
    } else {
        eprintln!(
            "warning: the audit chain does not verify here ({} rows checked): a master key that \
             signed audit rows is neither the active key nor in CRYPTOSERVE_PREVIOUS_MASTER_KEYS, \
             or HKDF_SALT differs from the exporting deployment's",
            verification.rows_checked
        );
    }
    Ok(())
}

fn describe(counts: &[(&str, usize)]) -> String {
    counts
        .iter()
        .map(|(table, rows)| format!("{table}: {rows}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Writes next to the target, then renames, so a crash never leaves half a file under the
/// name a restore would use. Mode 0600: the file names identities and holds the audit trail.
fn write_file(out: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let failed = |what: &str, error: std::io::Error| {
        BackupError::Failed(format!("{what} {}: {error}", display(out)))
    };
    if out == Path::new("-") {
        return std::io::stdout()
            .write_all(bytes)
            .map_err(|error| failed("writing", error));
    }
    let mut partial = PathBuf::from(out);
    partial.as_mut_os_string().push(".partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&partial)
        .map_err(|error| failed("creating", error))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| failed("writing", error))?;
    std::fs::rename(&partial, out).map_err(|error| failed("renaming into", error))
}

fn read_file(path: &Path) -> Result<Vec<u8>, BackupError> {
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|error| BackupError::Failed(format!("reading {}: {error}", display(path))))?;
    Ok(bytes)
}
