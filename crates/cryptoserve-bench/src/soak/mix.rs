//! The soak's traffic: which request each ticket of the schedule sends.
//!
//! Crypto traffic follows the rate: out of every 100 tickets, [`CRYPTO_WEIGHTS`] of each kind,
//! interleaved (ticket `i` takes slot `i × 37 mod 100`, so kinds alternate instead of running
//! in blocks). Admin traffic is a trickle on its own clock ([`ADMIN_PER_SECOND`]), cycling
//! through [`ADMIN_CYCLE`]: reads (list and get contexts, usage, rate limits), a context
//! created and deleted again in every cycle, and one rotation of the soak's own context, so
//! encrypts move to a new key version under load while decrypts keep opening version 1.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use crate::scenario::plaintext;

/// The context every soak request uses.
pub const CONTEXT: &str = "soak";
/// Items per batch request (each costs one rate-limit token).
pub const BATCH_ITEMS: usize = 10;
/// Plaintext size of every encrypt and batch item.
pub const PLAINTEXT_BYTES: usize = 256;
/// Admin requests per second, whatever the crypto rate.
pub const ADMIN_PER_SECOND: f64 = 2.0;

/// A crypto request kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoKind {
    /// `POST /api/v1/crypto/encrypt`, 256 B.
    Encrypt,
    /// `POST /api/v1/crypto/decrypt` of a 256 B plaintext's ciphertext.
    Decrypt,
    /// `POST /api/v1/crypto/batch/encrypt`, [`BATCH_ITEMS`] × 256 B.
    BatchEncrypt,
    /// `POST /api/v1/crypto/batch/decrypt`, [`BATCH_ITEMS`] ciphertexts.
    BatchDecrypt,
}

impl CryptoKind {
    /// Name in the report.
    pub fn name(self) -> &'static str {
        match self {
            CryptoKind::Encrypt => "encrypt_256",
            CryptoKind::Decrypt => "decrypt_256",
            CryptoKind::BatchEncrypt => "batch_encrypt_10x256",
            CryptoKind::BatchDecrypt => "batch_decrypt_10x256",
        }
    }
}

/// Share of each crypto kind, per 100 tickets.
pub const CRYPTO_WEIGHTS: [(CryptoKind, u64); 4] = [
    (CryptoKind::Encrypt, 45),
    (CryptoKind::Decrypt, 45),
    (CryptoKind::BatchEncrypt, 5),
    (CryptoKind::BatchDecrypt, 5),
];

/// The crypto kind ticket `ticket` sends.
pub fn crypto_kind(ticket: u64) -> CryptoKind {
    let mut slot = (ticket % 100) * 37 % 100;
    for (kind, weight) in CRYPTO_WEIGHTS {
        if slot < weight {
            return kind;
        }
        slot -= weight;
    }
    CryptoKind::Encrypt
}

/// An admin call of the trickle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOp {
    /// `GET /api/admin/contexts`.
    ListContexts,
    /// `GET /api/admin/contexts/soak`.
    GetContext,
    /// `GET /api/admin/usage?context=soak&since=<2 minutes ago>`.
    Usage,
    /// `GET /api/admin/rate-limits`.
    RateLimits,
    /// `POST /api/admin/contexts` of `soak-tmp-<cycle>` (deletion allowed).
    CreateTemporary,
    /// `DELETE /api/admin/contexts/soak-tmp-<cycle>`.
    DeleteTemporary,
    /// `POST /api/admin/contexts/soak/rotate`.
    Rotate,
}

impl AdminOp {
    /// Name in the report.
    pub fn name(self) -> &'static str {
        match self {
            AdminOp::ListContexts => "admin_list_contexts",
            AdminOp::GetContext => "admin_get_context",
            AdminOp::Usage => "admin_usage",
            AdminOp::RateLimits => "admin_rate_limits",
            AdminOp::CreateTemporary => "admin_create_context",
            AdminOp::DeleteTemporary => "admin_delete_context",
            AdminOp::Rotate => "admin_rotate",
        }
    }
}

/// One admin cycle: 20 calls, 10 s at [`ADMIN_PER_SECOND`]. The delete comes 5 s after the
/// create: a delete right after a change waits out two cache refreshes first (docs/api.md).
pub const ADMIN_CYCLE: [AdminOp; 20] = [
    AdminOp::ListContexts,
    AdminOp::Usage,
    AdminOp::CreateTemporary,
    AdminOp::GetContext,
    AdminOp::RateLimits,
    AdminOp::ListContexts,
    AdminOp::Usage,
    AdminOp::GetContext,
    AdminOp::Rotate,
    AdminOp::ListContexts,
    AdminOp::Usage,
    AdminOp::GetContext,
    AdminOp::DeleteTemporary,
    AdminOp::ListContexts,
    AdminOp::Usage,
    AdminOp::GetContext,
    AdminOp::RateLimits,
    AdminOp::ListContexts,
    AdminOp::Usage,
    AdminOp::GetContext,
];

/// The admin call of admin ticket `ticket`, and the cycle it belongs to (which names the
/// temporary context).
pub fn admin_op(ticket: u64) -> (AdminOp, u64) {
    let len = ADMIN_CYCLE.len() as u64;
    let op = ADMIN_CYCLE
        .get((ticket % len) as usize)
        .copied()
        .unwrap_or(AdminOp::ListContexts);
    (op, ticket / len)
}

/// A request ready to send: method, path, and JSON body.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Path and query.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Vec<u8>>,
}

impl Prepared {
    /// `POST path` with the JSON `body` as it is.
    pub fn post_raw(path: &str, body: Vec<u8>) -> Prepared {
        Prepared {
            method: reqwest::Method::POST,
            path: path.to_owned(),
            body: Some(body),
        }
    }

    fn post(path: &str, body: &serde_json::Value) -> Prepared {
        Prepared {
            method: reqwest::Method::POST,
            path: path.to_owned(),
            body: Some(body.to_string().into_bytes()),
        }
    }

    fn get(path: String) -> Prepared {
        Prepared {
            method: reqwest::Method::GET,
            path,
            body: None,
        }
    }
}

/// The four crypto request bodies, built once.
#[derive(Debug, Clone)]
pub struct CryptoRequests {
    encrypt: Prepared,
    decrypt: Prepared,
    batch_encrypt: Prepared,
    batch_decrypt: Prepared,
}

impl CryptoRequests {
    /// Bodies over [`CONTEXT`]; `ciphertexts` (at least one) are 256 B plaintexts encrypted
    /// beforehand, for the decrypts.
    pub fn new(ciphertexts: &[String]) -> CryptoRequests {
        let encoded = STANDARD.encode(plaintext(PLAINTEXT_BYTES));
        let first = ciphertexts.first().cloned().unwrap_or_default();
        let encrypt_items: Vec<_> = (0..BATCH_ITEMS)
            .map(|_| json!({ "plaintext": encoded }))
            .collect();
        let decrypt_items: Vec<_> = ciphertexts
            .iter()
            .cycle()
            .take(BATCH_ITEMS)
            .map(|ciphertext| json!({ "ciphertext": ciphertext }))
            .collect();
        CryptoRequests {
            encrypt: Prepared::post(
                "/api/v1/crypto/encrypt",
                &json!({ "context": CONTEXT, "plaintext": encoded }),
            ),
            decrypt: Prepared::post(
                "/api/v1/crypto/decrypt",
                &json!({ "context": CONTEXT, "ciphertext": first }),
            ),
            batch_encrypt: Prepared::post(
                "/api/v1/crypto/batch/encrypt",
                &json!({ "context": CONTEXT, "items": encrypt_items }),
            ),
            batch_decrypt: Prepared::post(
                "/api/v1/crypto/batch/decrypt",
                &json!({ "context": CONTEXT, "items": decrypt_items }),
            ),
        }
    }

    /// The request for `kind`.
    pub fn get(&self, kind: CryptoKind) -> &Prepared {
        match kind {
            CryptoKind::Encrypt => &self.encrypt,
            CryptoKind::Decrypt => &self.decrypt,
            CryptoKind::BatchEncrypt => &self.batch_encrypt,
            CryptoKind::BatchDecrypt => &self.batch_decrypt,
        }
    }
}

/// What the crypto workers of a [`super::client::Driver`] send.
#[derive(Debug, Clone)]
pub enum Traffic {
    /// The soak's mix: ticket `i` sends [`crypto_kind`]`(i)`; paced runs add the admin trickle.
    Mix(CryptoRequests),
    /// One request, every ticket (the load benchmark's constant-rate sweep); no admin trickle.
    One {
        /// Its name in the counts of requests sent.
        name: &'static str,
        /// The request.
        request: Prepared,
    },
}

impl Traffic {
    /// What ticket `ticket` sends, its name, and whether it is a batch (whose 200 answer may
    /// carry item errors).
    pub fn for_ticket(&self, ticket: u64) -> (&Prepared, &'static str, bool) {
        match self {
            Traffic::Mix(crypto) => {
                let kind = crypto_kind(ticket);
                let batch = matches!(kind, CryptoKind::BatchEncrypt | CryptoKind::BatchDecrypt);
                (crypto.get(kind), kind.name(), batch)
            }
            Traffic::One { name, request } => (request, name, false),
        }
    }

    /// Whether paced runs add the admin trickle.
    pub fn has_admin(&self) -> bool {
        matches!(self, Traffic::Mix(_))
    }
}

/// The request for admin call `op` in `cycle`; `now` dates the usage query.
pub fn admin_request(op: AdminOp, cycle: u64, now: chrono::DateTime<chrono::Utc>) -> Prepared {
    let temporary = format!("{CONTEXT}-tmp-{cycle}");
    match op {
        AdminOp::ListContexts => Prepared::get("/api/admin/contexts".to_owned()),
        AdminOp::GetContext => Prepared::get(format!("/api/admin/contexts/{CONTEXT}")),
        AdminOp::Usage => {
            let since = (now - chrono::Duration::minutes(2))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            Prepared::get(format!("/api/admin/usage?context={CONTEXT}&since={since}"))
        }
        AdminOp::RateLimits => Prepared::get("/api/admin/rate-limits".to_owned()),
        AdminOp::CreateTemporary => Prepared::post(
            "/api/admin/contexts",
            &json!({ "name": temporary, "deletion_allowed": true }),
        ),
        AdminOp::DeleteTemporary => Prepared {
            method: reqwest::Method::DELETE,
            path: format!("/api/admin/contexts/{temporary}"),
            body: None,
        },
        AdminOp::Rotate => {
            Prepared::post(&format!("/api/admin/contexts/{CONTEXT}/rotate"), &json!({}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hundred_tickets_hold_the_weights_interleaved() {
        for start in [0, 100, 12_300] {
            let kinds: Vec<CryptoKind> = (start..start + 100).map(crypto_kind).collect();
            for (kind, weight) in CRYPTO_WEIGHTS {
                let count = kinds.iter().filter(|k| **k == kind).count() as u64;
                assert_eq!(count, weight, "{kind:?}");
            }
            // Interleaved: never more than 3 of the same kind in a row.
            let longest = kinds.chunk_by(|a, b| a == b).map(<[CryptoKind]>::len).max();
            assert!(longest.is_some_and(|run| run <= 3), "{longest:?}");
        }
    }

    #[test]
    fn admin_cycle_creates_then_deletes_and_rotates_once() {
        let ops: Vec<(AdminOp, u64)> = (20..40).map(admin_op).collect();
        assert!(ops.iter().all(|(_, cycle)| *cycle == 1));
        let position = |op| ops.iter().position(|(o, _)| *o == op);
        assert!(position(AdminOp::CreateTemporary) < position(AdminOp::DeleteTemporary));
        let rotations = ops.iter().filter(|(op, _)| *op == AdminOp::Rotate).count();
        assert_eq!(rotations, 1);
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let delete = admin_request(AdminOp::DeleteTemporary, 7, now);
        assert_eq!(delete.path, "/api/admin/contexts/soak-tmp-7");
        let usage = admin_request(AdminOp::Usage, 0, now);
        assert_eq!(
            usage.path,
            "/api/admin/usage?context=soak&since=2026-12-02T09:58:00Z"
        );
    }
}
