//! What the benchmark measures: five request shapes, each at two concurrencies.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use crate::error::{io_err, Result};
use crate::wrk::RequestSpec;

/// The context every crypto scenario uses.
pub const CONTEXT: &str = "bench";
/// Concurrencies (open keep-alive connections) every scenario runs at.
pub const CONCURRENCIES: [u32; 2] = [16, 64];
/// Items in the batch scenario.
pub const BATCH_ITEMS: usize = 100;

/// One request shape.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Stable name used in reports.
    pub name: &'static str,
    /// What it is, for the report.
    pub description: &'static str,
    /// The request.
    pub request: RequestSpec,
}

/// `len` deterministic, not all-zero bytes.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Builds every scenario, writing request bodies into `dir`. `ciphertext` is a 256-byte
/// plaintext encrypted beforehand, for the decrypt scenario.
pub fn all(dir: &Path, token: &str, ciphertext: &str) -> Result<Vec<Scenario>> {
    let encode = |len: usize| STANDARD.encode(plaintext(len));
    let items: Vec<_> = (0..BATCH_ITEMS)
        .map(|_| json!({ "plaintext": encode(256) }))
        .collect();
    let post = |name: &'static str,
                description: &'static str,
                path: &str,
                body: serde_json::Value|
     -> Result<Scenario> {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, body.to_string()).map_err(io_err(format!("writing {name}.json")))?;
        Ok(Scenario {
            name,
            description,
            request: RequestSpec {
                method: "POST",
                path: path.to_owned(),
                body_file: Some(file),
                bearer: Some(token.to_owned()),
            },
        })
    };
    Ok(vec![
        Scenario {
            name: "health_live",
            description: "GET /health/live (the ceiling: routing, middleware, no auth)",
            request: RequestSpec {
                method: "GET",
                path: "/health/live".to_owned(),
                body_file: None,
                bearer: None,
            },
        },
        post(
            "encrypt_256",
            "POST /api/v1/crypto/encrypt, 256 B plaintext",
            "/api/v1/crypto/encrypt",
            json!({ "context": CONTEXT, "plaintext": encode(256) }),
        )?,
        post(
            "decrypt_256",
            "POST /api/v1/crypto/decrypt of a 256 B plaintext's ciphertext",
            "/api/v1/crypto/decrypt",
            json!({ "context": CONTEXT, "ciphertext": ciphertext }),
        )?,
        post(
            "encrypt_16k",
            "POST /api/v1/crypto/encrypt, 16 KiB plaintext",
            "/api/v1/crypto/encrypt",
            json!({ "context": CONTEXT, "plaintext": encode(16 * 1024) }),
        )?,
        post(
            "batch_encrypt_100x256",
            "POST /api/v1/crypto/batch/encrypt, 100 items × 256 B (rate-limit cost 100)",
            "/api/v1/crypto/batch/encrypt",
            json!({ "context": CONTEXT, "items": items }),
        )?,
    ])
}
