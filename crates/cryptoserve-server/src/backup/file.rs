//! The backup file: versioned JSON whose content is authenticated by HMAC-SHA256 under a key
//! derived from the master key the file names (`derive_service_key(key, salt, "backup-mac")`).
//!
//! ```text
//! {"format": "cryptoserve-backup", "version": 1, "created_at": "2026-12-02T10:00:00Z",
//!  "master_key_id": "…16 hex…", "schema": "m20261201_000001_context_attributes",
//!  "source": "postgres", "tables": {"contexts": [...], ...}, "mac": "…64 hex…"}
//! ```
//!
//! The MAC covers a domain tag, every header field and the exact bytes of `tables` as written
//! (each length-prefixed), so checking it needs no re-serialisation and a changed byte anywhere
//! but in whitespace between fields fails it. Reformatting the file (`jq .`) fails it too.

use cryptoserve_core::derive::derive_service_key;
use cryptoserve_core::{Keyring, MasterKey, MasterKeyId, Salt};
use cryptoserve_store::{knows_schema, schema_version, BackupTables};
use ring::hmac;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::BackupError;

/// The `format` field: what this file is.
pub const FORMAT: &str = "cryptoserve-backup";
/// The `version` field this build writes and reads.
pub const VERSION: u32 = 1;
/// The purpose label of the MAC key, distinct from every other service key.
const MAC_KEY_PURPOSE: &str = "backup-mac";
/// Separates this MAC from any other HMAC under a derived key.
const DOMAIN: &[u8] = b"cryptoserve/backup/v1";

/// The file as stored; `tables` stays raw so the MAC is checked over the bytes as written.
#[derive(Debug, Serialize, Deserialize)]
struct BackupFile {
    format: String,
    version: u32,
    created_at: String,
    master_key_id: String,
    schema: String,
    source: String,
    tables: Box<RawValue>,
    mac: String,
}

/// A file that passed every check: its tables and where they came from.
#[derive(Debug)]
pub struct OpenedBackup {
    /// Every table's rows.
    pub tables: BackupTables,
    /// When the export ran (RFC 3339).
    pub created_at: String,
    /// The exporting deployment's active master key (the one the MAC is under).
    pub master_key_id: MasterKeyId,
    /// `postgres` or `sqlite`.
    pub source: String,
}

/// Serialises `tables` into a sealed file under the keyring's active key.
pub fn seal(
    tables: &BackupTables,
    keyring: &Keyring,
    salt: &Salt,
    source: &str,
) -> Result<Vec<u8>, BackupError> {
    let active = keyring.active();
    let raw = serde_json::to_string_pretty(tables)
        .and_then(RawValue::from_string)
        .map_err(|error| BackupError::Failed(format!("serialising the tables: {error}")))?;
    let mut file = BackupFile {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        master_key_id: active.id().to_string(),
        schema: schema_version(),
        source: source.to_owned(),
        tables: raw,
        mac: String::new(),
    };
    file.mac = hex::encode(hmac::sign(&mac_key(active, salt)?, &mac_input(&file)).as_ref());
    let mut bytes = serde_json::to_vec_pretty(&file)
        .map_err(|error| BackupError::Failed(format!("serialising the file: {error}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Parses and checks a file: format and version, a master key the keyring holds, the MAC, a
/// schema this build knows. Each failure is a [`BackupError::Refused`] that says what to do.
pub fn open(bytes: &[u8], keyring: &Keyring, salt: &Salt) -> Result<OpenedBackup, BackupError> {
    let file: BackupFile = serde_json::from_slice(bytes)
        .map_err(|error| BackupError::Refused(format!("not a CryptoServe backup: {error}")))?;
    if file.format != FORMAT {
        return Err(BackupError::Refused(format!(
            "`format` is `{}`, not `{FORMAT}`",
            file.format
        )));
    }
    if file.version != VERSION {
        return Err(BackupError::Refused(format!(
            "backup format version {} (this build reads version {VERSION})",
            file.version
        )));
    }
    let key = MasterKeyId::from_hex(&file.master_key_id)
        .and_then(|id| keyring.get(id))
        .ok_or_else(|| {
            let configured: Vec<String> = keyring.ids().iter().map(ToString::to_string).collect();
            BackupError::Refused(format!(
                "the file was written under master key {}, which is not configured \
                 (configured: {}); set it as CRYPTOSERVE_MASTER_KEY or add it to \
                 CRYPTOSERVE_PREVIOUS_MASTER_KEYS",
                file.master_key_id,
                configured.join(", ")
            ))
        })?;
    let mac = hex::decode(&file.mac).unwrap_or_default();
    if hmac::verify(&mac_key(key, salt)?, &mac_input(&file), &mac).is_err() {
        return Err(BackupError::Refused(
            "integrity check failed: the file was changed after export, or HKDF_SALT differs \
             from the exporting deployment's"
                .into(),
        ));
    }
    if !knows_schema(&file.schema) {
        return Err(BackupError::Refused(format!(
            "the file has schema `{}`, newer than this build's `{}`: import with a CryptoServe \
             at least as new as the one that exported",
            file.schema,
            schema_version()
        )));
    }
    let tables = serde_json::from_str(file.tables.get())
        .map_err(|error| BackupError::Refused(format!("unreadable tables: {error}")))?;
    Ok(OpenedBackup {
        tables,
        created_at: file.created_at,
        master_key_id: key.id(),
        source: file.source,
    })
}

fn mac_key(master_key: &MasterKey, salt: &Salt) -> Result<hmac::Key, BackupError> {
    let bytes = derive_service_key(master_key, salt, MAC_KEY_PURPOSE)
        .map_err(|error| BackupError::Failed(format!("deriving the backup MAC key: {error}")))?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, bytes.as_slice()))
}

/// Domain tag, then each header field and the raw tables, length-prefixed.
fn mac_input(file: &BackupFile) -> Vec<u8> {
    let version = file.version.to_string();
    let fields: [&[u8]; 8] = [
        DOMAIN,
        file.format.as_bytes(),
        version.as_bytes(),
        file.created_at.as_bytes(),
        file.master_key_id.as_bytes(),
        file.schema.as_bytes(),
        file.source.as_bytes(),
        file.tables.get().as_bytes(),
    ];
    let mut out = Vec::with_capacity(fields.iter().map(|field| field.len() + 8).sum());
    for field in fields {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(byte: u8) -> Keyring {
        Keyring::new(MasterKey::from_bytes([byte; 32]))
    }

    fn salt() -> Salt {
        Salt::new("0123456789abcdef").unwrap()
    }

    #[test]
    fn a_sealed_file_opens_and_any_changed_byte_is_refused() {
        let sealed = seal(&BackupTables::default(), &keyring(1), &salt(), "sqlite").unwrap();
        let opened = open(&sealed, &keyring(1), &salt()).unwrap();
        assert!(opened.tables.is_empty());
        assert_eq!(opened.source, "sqlite");
        let text = String::from_utf8(sealed.clone()).unwrap();
        for (from, to) in [
            ("sqlite", "sqlitf"),
            ("[]", "[ ]"),
            ("\"version\": 1", "\"version\": 2"),
        ] {
            let tampered = text.replacen(from, to, 1);
            assert_ne!(tampered, text);
            assert!(
                matches!(
                    open(tampered.as_bytes(), &keyring(1), &salt()),
                    Err(BackupError::Refused(_))
                ),
                "{from} -> {to}"
            );
        }
        let other_salt = Salt::new("fedcba9876543210").unwrap();
        assert!(open(&sealed, &keyring(1), &other_salt).is_err());
    }

    #[test]
    fn an_unknown_master_key_is_named_and_a_previous_one_is_accepted() {
        let sealed = seal(&BackupTables::default(), &keyring(1), &salt(), "postgres").unwrap();
        let needed = keyring(1).active().id().to_string();
        let Err(BackupError::Refused(message)) = open(&sealed, &keyring(2), &salt()) else {
            panic!("a file under another master key opened");
        };
        assert!(message.contains(&needed), "{message}");
        let rotated = keyring(2).with_previous(MasterKey::from_bytes([1; 32]));
        assert_eq!(
            open(&sealed, &rotated, &salt())
                .unwrap()
                .master_key_id
                .to_string(),
            needed
        );
    }
}
