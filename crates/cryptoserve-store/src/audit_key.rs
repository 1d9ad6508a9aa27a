//! The key that signs the admin audit chain, and the canonical encoding it signs.
//!
//! Each row's MAC is `HMAC-SHA256(key, canonical(row) || prev_mac)`. The encoding prefixes
//! every field with its length so no two different rows encode to the same bytes (moving a
//! character from `action` to `target` changes the MAC). A checkpoint's MAC is
//! `HMAC-SHA256(key, canonical(checkpoint))` with its own domain label.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `prev_mac` of the first row: 32 zero bytes in hex.
pub const GENESIS_MAC: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Separates this MAC from any other use of the same key.
const DOMAIN: &[u8] = b"cryptoserve/admin-audit/v1";

/// Separates checkpoint MACs from row MACs, so neither can stand in for the other.
const CHECKPOINT_DOMAIN: &[u8] = b"cryptoserve/admin-audit-checkpoint/v1";

/// 32-byte HMAC key for the audit chain, plus the keys of previous master keys. Rows and
/// checkpoints are signed with the current key and verify under any of them, so a chain that
/// spans a master key rotation still verifies while the old master key is configured as a
/// previous key. Zeroized on drop; `Debug` never shows the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuditKey {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
}

impl AuditKey {
    /// Wraps key bytes derived by the caller (the server derives them from the master key).
    pub fn new(bytes: [u8; 32]) -> AuditKey {
        AuditKey {
            current: bytes,
            previous: Vec::new(),
        }
    }

    /// Adds keys that still verify (derived from previous master keys) but never sign.
    pub fn with_previous(mut self, keys: impl IntoIterator<Item = [u8; 32]>) -> AuditKey {
        self.previous.extend(keys);
        self
    }

    /// The signing key first, then the previous ones.
    fn verifying_keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    /// Computes the hex MAC of one row given the previous row's MAC.
    pub(crate) fn mac_row(&self, row: &MacInput<'_>, prev_mac: &str) -> String {
        hex::encode(mac_bytes(&self.current, row, prev_mac))
    }

    /// True when `stored_mac` (hex) is the MAC of `row`; compared in constant time.
    pub(crate) fn verify_row(&self, row: &MacInput<'_>, prev_mac: &str, stored_mac: &str) -> bool {
        let Ok(stored) = hex::decode(stored_mac) else {
            return false;
        };
        self.verifying_keys().any(|key| {
            let expected = mac_bytes(key, row, prev_mac);
            stored.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&stored))
        })
    }

    /// The hex MAC of a checkpoint: (sequence, head MAC, time), under its own domain label.
    pub(crate) fn mac_checkpoint(
        &self,
        sequence: i64,
        head_mac: &str,
        at: DateTime<Utc>,
    ) -> String {
        hex::encode(checkpoint_mac_bytes(&self.current, sequence, head_mac, at))
    }

    /// True when `stored_mac` (hex) is the checkpoint's MAC; compared in constant time.
    pub(crate) fn verify_checkpoint(
        &self,
        sequence: i64,
        head_mac: &str,
        at: DateTime<Utc>,
        stored_mac: &str,
    ) -> bool {
        let Ok(stored) = hex::decode(stored_mac) else {
            return false;
        };
        self.verifying_keys().any(|key| {
            let expected = checkpoint_mac_bytes(key, sequence, head_mac, at);
            stored.len() == expected.len() && bool::from(expected.as_slice().ct_eq(&stored))
        })
    }
}

fn checkpoint_mac_bytes(
    key: &[u8; 32],
    sequence: i64,
    head_mac: &str,
    at: DateTime<Utc>,
) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail for our 32 bytes.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    let mut encoded = Vec::with_capacity(128);
    push_bytes(&mut encoded, CHECKPOINT_DOMAIN);
    encoded.extend_from_slice(&sequence.to_be_bytes());
    encoded.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    push_bytes(&mut encoded, head_mac.as_bytes());
    mac.update(&encoded);
    mac.finalize().into_bytes().to_vec()
}

fn mac_bytes(key: &[u8; 32], row: &MacInput<'_>, prev_mac: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail for our 32 bytes.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(&canonical_encoding(row));
    mac.update(prev_mac.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

/// The signed fields of one audit row, borrowed from wherever the row lives.
#[derive(Debug)]
pub(crate) struct MacInput<'a> {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub request_id: &'a str,
    pub client_ip: &'a str,
    pub outcome: &'a str,
    pub details: Option<&'a str>,
}

/// Domain tag, then fixed-width integers and length-prefixed strings; `details` carries a
/// presence byte so `None` and `Some("")` differ. Timestamps are in microseconds, the
/// precision both PostgreSQL and our SQLite rows keep.
fn canonical_encoding(row: &MacInput<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    push_bytes(&mut out, DOMAIN);
    out.extend_from_slice(&row.id.to_be_bytes());
    out.extend_from_slice(&row.at.timestamp_micros().to_be_bytes());
    for field in [
        row.actor,
        row.action,
        row.target,
        row.request_id,
        row.client_ip,
        row.outcome,
    ] {
        push_bytes(&mut out, field.as_bytes());
    }
    match row.details {
        None => out.push(0),
        Some(details) => {
            out.push(1);
            push_bytes(&mut out, details.as_bytes());
        }
    }
    out
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(action: &'a str, target: &'a str, details: Option<&'a str>) -> MacInput<'a> {
        MacInput {
            id: 7,
            at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap(),
            actor: "cli",
            action,
            target,
            request_id: "req-1",
            client_ip: "127.0.0.1",
            outcome: "success",
            details,
        }
    }

    #[test]
    fn field_boundaries_and_missing_details_change_the_mac() {
        let key = AuditKey::new([9; 32]);
        let base = key.mac_row(&row("context.create", "orders", None), GENESIS_MAC);
        let shifted = key.mac_row(&row("context.creat", "eorders", None), GENESIS_MAC);
        let empty_details = key.mac_row(&row("context.create", "orders", Some("")), GENESIS_MAC);
        assert_ne!(base, shifted);
        assert_ne!(base, empty_details);
        assert_eq!(base.len(), 64);
        assert!(key.verify_row(&row("context.create", "orders", None), GENESIS_MAC, &base));
        assert!(!key.verify_row(&row("context.create", "orders", None), &base, &base));
        assert!(!AuditKey::new([8; 32]).verify_row(
            &row("context.create", "orders", None),
            GENESIS_MAC,
            &base
        ));
    }

    #[test]
    fn checkpoint_macs_are_bound_to_every_field_and_the_key() {
        let key = AuditKey::new([9; 32]);
        let at = DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap();
        let mac = key.mac_checkpoint(7, "ab", at);
        assert!(key.verify_checkpoint(7, "ab", at, &mac));
        assert!(!key.verify_checkpoint(8, "ab", at, &mac));
        assert!(!key.verify_checkpoint(7, "ac", at, &mac));
        let later = DateTime::from_timestamp_micros(1_700_000_000_000_002).unwrap();
        assert!(!key.verify_checkpoint(7, "ab", later, &mac));
        assert!(!AuditKey::new([8; 32]).verify_checkpoint(7, "ab", at, &mac));
        // A key of a previous master key still verifies, and never signs.
        let rotated = AuditKey::new([8; 32]).with_previous([[9; 32]]);
        assert!(rotated.verify_checkpoint(7, "ab", at, &mac));
        assert_ne!(rotated.mac_checkpoint(7, "ab", at), mac);
        // A row MAC is never a checkpoint MAC for the same numbers.
        assert_ne!(
            mac,
            key.mac_row(&row("context.create", "orders", None), "ab")
        );
    }

    #[test]
    fn debug_output_is_redacted() {
        assert_eq!(
            format!("{:?}", AuditKey::new([1; 32])),
            "AuditKey([redacted])"
        );
    }
}
