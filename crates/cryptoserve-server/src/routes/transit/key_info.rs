//! What the key routes and encrypt's upsert share: Vault's key-info object (`data` of read,
//! create, rotate and config), Vault's key type names, the refusal of exportable keys, and
//! creating a missing key on encrypt.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use cryptoserve_core::Algorithm;
use cryptoserve_store::{ContextAttributes, ContextRecord};

use super::params::Params;
use super::reply::{self, bad_request, Reply};
use crate::contexts::ContextDefinition;
use crate::state::AppState;

/// Vault's name for an algorithm.
pub fn vault_type(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Aes256Gcm => "aes256-gcm96",
        Algorithm::ChaCha20Poly1305 => "chacha20-poly1305",
    }
}

/// Parses Vault's key `type`; 400 `unknown key type X` otherwise.
pub fn parse_type(text: Option<&str>) -> Result<Algorithm, HttpResponse> {
    match text {
        None | Some("") | Some("aes256-gcm96") => Ok(Algorithm::Aes256Gcm),
        Some("chacha20-poly1305") => Ok(Algorithm::ChaCha20Poly1305),
        Some(other) if other.len() <= 64 => Err(bad_request(format!("unknown key type {other}"))),
        Some(_) => Err(bad_request("unknown key type")),
    }
}

/// Refuses asking for exportable keys or plaintext backups: key material never leaves
/// CryptoServe (it is derived on demand and never stored).
pub fn refuse_export(params: &Params) -> Result<(), HttpResponse> {
    if params.boolean("exportable")? == Some(true) {
        return Err(bad_request(
            "exportable keys are not supported: CryptoServe never exports key material",
        ));
    }
    if params.boolean("allow_plaintext_backup")? == Some(true) {
        return Err(bad_request(
            "plaintext backups are not supported: CryptoServe never exports key material",
        ));
    }
    Ok(())
}

/// The key-info object of Vault (`data` of read, create, rotate and config). `keys` lists the
/// versions still decryptable, each with its creation time in Unix seconds.
pub async fn key_info(state: &AppState, record: &ContextRecord) -> Result<Value, HttpResponse> {
    let versions = state
        .store
        .list_key_versions(&record.name)
        .await
        .map_err(|error| reply::from_api(error.into()))?;
    let keys: Map<String, Value> = versions
        .iter()
        .filter(|v| v.version >= record.min_decryption_version)
        .map(|v| (v.version.to_string(), json!(v.created_at.timestamp())))
        .collect();
    let algorithm = record
        .algorithm
        .as_str()
        .parse::<Algorithm>()
        .unwrap_or_default();
    let attributes = record.attributes();
    let mut info = json!({
        "allow_plaintext_backup": false,
        "auto_rotate_period": attributes.auto_rotate_period_secs,
        "deletion_allowed": attributes.deletion_allowed,
        "derived": attributes.derived,
        "exportable": false,
        "imported_key": false,
        "keys": keys,
        "latest_version": record.current_version,
        "min_available_version": 0,
        "min_decryption_version": record.min_decryption_version,
        "min_encryption_version": record.min_encryption_version,
        "name": record.name,
        "soft_deleted": false,
        "supports_decryption": true,
        "supports_derivation": true,
        "supports_encryption": true,
        "supports_signing": false,
        "type": vault_type(algorithm),
    });
    if attributes.derived {
        info["convergent_encryption"] = json!(attributes.convergent);
        info["kdf"] = json!("hkdf_sha256");
        if attributes.convergent {
            // OpenBao reports -1 here; clients only check that the field exists.
            info["convergent_encryption_version"] = json!(-1);
        }
    }
    Ok(info)
}

pub(super) async fn info_reply(
    state: &AppState,
    req: &HttpRequest,
    record: &ContextRecord,
    warnings: &[String],
) -> Reply {
    let info = key_info(state, record).await?;
    Ok(reply::data(req, &info, warnings))
}

/// The type and convergence a create (or an encrypt's upsert) asks for, refused as Vault
/// refuses them; deletion and auto-rotation start off.
pub fn requested_definition(
    params: &Params,
    derived: bool,
    description: &str,
) -> Result<ContextDefinition, HttpResponse> {
    let algorithm = parse_type(params.string("type")?.as_deref())?;
    let convergent = params.boolean("convergent_encryption")?.unwrap_or(false);
    if convergent && !derived {
        return Err(bad_request(
            "convergent encryption requires derivation to be enabled",
        ));
    }
    Ok(ContextDefinition {
        algorithm,
        description: description.to_owned(),
        attributes: ContextAttributes {
            derived,
            convergent,
            ..ContextAttributes::default()
        },
    })
}

/// Creates a key on encrypt of a missing one ("upsert"), for admins only. Returns whether the
/// key exists afterwards.
pub async fn upsert(
    state: &AppState,
    req: &HttpRequest,
    principal: &crate::auth::Principal,
    name: &str,
    params: &Params,
    derived: bool,
) -> Result<(), HttpResponse> {
    // Loaded into the cache on the way, so the admission that follows finds it there.
    let found = state
        .metadata
        .context_or_load(&state.store, name)
        .await
        .map_err(|error| reply::from_api(error.into()))?;
    if found.is_some() {
        return Ok(());
    }
    if !principal.is_admin() {
        return Err(reply::denied());
    }
    let definition = requested_definition(
        params,
        derived,
        "created by an encrypt through the Transit API",
    )?;
    let admin = crate::auth::AdminPrincipal(principal.clone());
    let audit = crate::admin_audit::audit_entry(state, req, &admin, "context.create", name);
    match crate::contexts::create(state, name, definition, audit).await {
        Ok(_) => Ok(()),
        // Another request created it a moment ago: that is what we wanted.
        Err(crate::error::ApiError::Conflict(_)) => Ok(()),
        Err(error) => Err(reply::from_api(error)),
    }
}

pub(super) async fn existing(
    state: &AppState,
    name: &str,
) -> Result<Option<ContextRecord>, HttpResponse> {
    state
        .store
        .get_context(name)
        .await
        .map_err(|error| reply::from_api(error.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(parse_type(None).unwrap(), Algorithm::Aes256Gcm);
        assert_eq!(
            parse_type(Some("chacha20-poly1305")).unwrap(),
            Algorithm::ChaCha20Poly1305
        );
        assert!(parse_type(Some("rsa-2048")).is_err());
        for algorithm in Algorithm::ALL {
            assert_eq!(parse_type(Some(vault_type(algorithm))).unwrap(), algorithm);
        }
    }
}
