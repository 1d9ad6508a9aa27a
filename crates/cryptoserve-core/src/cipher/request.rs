//! [`KeyRequest`] and the rules that turn a request plus a [`ContextSpec`] into the key an
//! operation may use: which version may seal, and whether a derivation context is required.
//!
//! The version rules and their messages are Vault Transit's, checked in Vault's order.

use crate::context::{ContextSpec, KeyVersion};
use crate::error::{CoreError, Result};

/// Which key an operation uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyRequest<'a> {
    /// Encrypt under this version instead of the current one (None = current).
    pub version: Option<KeyVersion>,
    /// Per-request derivation context; required for derived specs, ignored otherwise.
    pub derivation: Option<&'a [u8]>,
}

/// The version new ciphertext is sealed under: the current one unless the caller names
/// another, which must be between the minimums and the current version.
pub(super) fn encryption_version(
    spec: &ContextSpec,
    requested: Option<KeyVersion>,
) -> Result<KeyVersion> {
    let Some(version) = requested else {
        return Ok(spec.current_version);
    };
    if version > spec.current_version {
        return Err(CoreError::VersionAboveLatest);
    }
    if spec.min_encryption_version != 0 && version.get() < spec.min_encryption_version {
        return Err(CoreError::VersionBelowMinEncryption);
    }
    if version < spec.min_decryption_version {
        return Err(CoreError::VersionRetired);
    }
    Ok(version)
}

/// The derivation context to mix into the key: the caller's for a derived spec (where it is
/// required), none otherwise (a non-derived spec ignores it, so its keys never change). Also
/// refuses inconsistent specs, so every operation checks them.
pub(super) fn derivation_for<'a>(
    spec: &ContextSpec,
    derivation: Option<&'a [u8]>,
) -> Result<Option<&'a [u8]>> {
    spec.validate()?;
    if !spec.derived {
        return Ok(None);
    }
    derivation
        .map(Some)
        .ok_or(CoreError::MissingDerivationContext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::Algorithm;
    use crate::context::ContextName;

    fn version(n: u32) -> KeyVersion {
        KeyVersion::new(n).unwrap()
    }

    fn spec(current: u32, min_decryption: u32, min_encryption: u32) -> ContextSpec {
        let mut spec = ContextSpec::new(ContextName::parse("p").unwrap(), Algorithm::Aes256Gcm);
        spec.current_version = version(current);
        spec.min_decryption_version = version(min_decryption);
        spec.min_encryption_version = min_encryption;
        spec
    }

    #[test]
    fn default_is_the_current_version_whatever_the_minimums() {
        assert_eq!(
            encryption_version(&spec(5, 1, 0), None).unwrap(),
            version(5)
        );
        // Even a (misconfigured) minimum above current does not stop default encryption.
        assert_eq!(
            encryption_version(&spec(5, 5, 9), None).unwrap(),
            version(5)
        );
    }

    #[test]
    fn explicit_versions_follow_vaults_rules_in_vaults_order() {
        let s = spec(5, 2, 3);
        assert_eq!(
            encryption_version(&s, Some(version(5))).unwrap(),
            version(5)
        );
        assert_eq!(
            encryption_version(&s, Some(version(3))).unwrap(),
            version(3)
        );
        assert_eq!(
            encryption_version(&s, Some(version(6))).unwrap_err(),
            CoreError::VersionAboveLatest
        );
        assert_eq!(
            encryption_version(&s, Some(version(2))).unwrap_err(),
            CoreError::VersionBelowMinEncryption
        );
        // Below both minimums: the encryption minimum is checked first.
        assert_eq!(
            encryption_version(&s, Some(version(1))).unwrap_err(),
            CoreError::VersionBelowMinEncryption
        );
        // No encryption minimum: retired versions are "no such key version".
        let s = spec(5, 3, 0);
        assert_eq!(
            encryption_version(&s, Some(version(3))).unwrap(),
            version(3)
        );
        assert_eq!(
            encryption_version(&s, Some(version(2))).unwrap_err(),
            CoreError::VersionRetired
        );
        assert_eq!(CoreError::VersionRetired.to_string(), "no such key version");
    }

    #[test]
    fn derivation_is_required_for_derived_specs_and_ignored_otherwise() {
        let mut s = spec(1, 1, 0);
        assert_eq!(derivation_for(&s, Some(b"t")).unwrap(), None);
        assert_eq!(derivation_for(&s, None).unwrap(), None);
        s.derived = true;
        assert_eq!(derivation_for(&s, Some(b"t")).unwrap(), Some(&b"t"[..]));
        assert_eq!(derivation_for(&s, Some(b"")).unwrap(), Some(&b""[..]));
        assert_eq!(
            derivation_for(&s, None).unwrap_err(),
            CoreError::MissingDerivationContext
        );
        s.derived = false;
        s.convergent = true;
        assert_eq!(
            derivation_for(&s, Some(b"t")).unwrap_err(),
            CoreError::ConvergentRequiresDerivation
        );
    }
}
