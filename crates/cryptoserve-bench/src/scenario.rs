//! What the benchmark measures: six request shapes against CryptoServe, and two against the
//! OpenBao comparison setup, each at two concurrencies.
//!
//! Transit encrypt 256 B is the same request in both: `POST /v1/transit/encrypt/bench` with
//! `X-Vault-Token` and `{"plaintext": <base64>}`. In CryptoServe a Transit key is a context,
//! so it uses the context the native scenarios use, with the same JWT.

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
/// The native encrypt 256 B scenario (the Transit one is compared with it).
pub const ENCRYPT_256: &str = "encrypt_256";
/// Transit encrypt 256 B, in CryptoServe and in OpenBao.
pub const TRANSIT_ENCRYPT_256: &str = "transit_encrypt_256";
/// Decrypt of a 256 B plaintext's ciphertext.
pub const DECRYPT_256: &str = "decrypt_256";
/// Encrypt 16 KiB.
pub const ENCRYPT_16K: &str = "encrypt_16k";
/// CryptoServe's ceiling: `/health/live`.
pub const HEALTH_LIVE: &str = "health_live";
/// OpenBao's ceiling: `/v1/sys/health`.
pub const SYS_HEALTH: &str = "sys_health";
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

/// Builds every CryptoServe scenario, writing request bodies into `dir`. `ciphertext` is a
/// 256-byte plaintext encrypted beforehand, for the decrypt scenario.
pub fn all(dir: &Path, token: &str, ciphertext: &str) -> Result<Vec<Scenario>> {
    let encode = |len: usize| STANDARD.encode(plaintext(len));
    let items: Vec<_> = (0..BATCH_ITEMS)
        .map(|_| json!({ "plaintext": encode(256) }))
        .collect();
    let bearer = vec![("Authorization", format!("Bearer {token}"))];
    let native = |name: &'static str, description: &'static str, path: &str, body| {
        post(dir, name, description, path, body, bearer.clone())
    };
    Ok(vec![
        Scenario {
            name: HEALTH_LIVE,
            description: "GET /health/live (the ceiling: routing, middleware, no auth)",
            request: RequestSpec {
                method: "GET",
                path: "/health/live".to_owned(),
                body_file: None,
                headers: Vec::new(),
            },
        },
        native(
            ENCRYPT_256,
            "POST /api/v1/crypto/encrypt, 256 B plaintext",
            "/api/v1/crypto/encrypt",
            json!({ "context": CONTEXT, "plaintext": encode(256) }),
        )?,
        transit_encrypt_256(dir, token, CONTEXT)?,
        native(
            DECRYPT_256,
            "POST /api/v1/crypto/decrypt of a 256 B plaintext's ciphertext",
            "/api/v1/crypto/decrypt",
            json!({ "context": CONTEXT, "ciphertext": ciphertext }),
        )?,
        native(
            ENCRYPT_16K,
            "POST /api/v1/crypto/encrypt, 16 KiB plaintext",
            "/api/v1/crypto/encrypt",
            json!({ "context": CONTEXT, "plaintext": encode(16 * 1024) }),
        )?,
        native(
            "batch_encrypt_100x256",
            "POST /api/v1/crypto/batch/encrypt, 100 items × 256 B (rate-limit cost 100)",
            "/api/v1/crypto/batch/encrypt",
            json!({ "context": CONTEXT, "items": items }),
        )?,
    ])
}

/// The OpenBao scenarios: its ceiling and Transit encrypt 256 B with `key`.
pub fn openbao(dir: &Path, token: &str, key: &str) -> Result<Vec<Scenario>> {
    Ok(vec![
        Scenario {
            name: SYS_HEALTH,
            description: "GET /v1/sys/health (OpenBao's ceiling: no auth, no storage)",
            request: RequestSpec {
                method: "GET",
                path: "/v1/sys/health".to_owned(),
                body_file: None,
                headers: Vec::new(),
            },
        },
        transit_encrypt_256(dir, token, key)?,
    ])
}

/// Transit encrypt of a 256 B plaintext with `key`, authenticated by `X-Vault-Token`.
pub fn transit_encrypt_256(dir: &Path, token: &str, key: &str) -> Result<Scenario> {
    post(
        dir,
        TRANSIT_ENCRYPT_256,
        "POST /v1/transit/encrypt/<key> (X-Vault-Token), 256 B plaintext",
        &format!("/v1/transit/encrypt/{key}"),
        json!({ "plaintext": STANDARD.encode(plaintext(256)) }),
        vec![("X-Vault-Token", token.to_owned())],
    )
}

/// A POST scenario whose JSON `body` is written to `dir/<name>.json`.
fn post(
    dir: &Path,
    name: &'static str,
    description: &'static str,
    path: &str,
    body: serde_json::Value,
    headers: Vec<(&'static str, String)>,
) -> Result<Scenario> {
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, body.to_string()).map_err(io_err(format!("writing {name}.json")))?;
    Ok(Scenario {
        name,
        description,
        request: RequestSpec {
            method: "POST",
            path: path.to_owned(),
            body_file: Some(file),
            headers,
        },
    })
}
