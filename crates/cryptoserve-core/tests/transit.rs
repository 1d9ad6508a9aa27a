//! The Vault-Transit-compatible features through the public API: explicit key versions and
//! their rules, derived and convergent contexts, generation ids, 512-bit data keys, and the
//! `vault:` text form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptoserve_core::{
    text, Algorithm, Cipher, ContextName, ContextSpec, CoreError, DataKeySize, GenerationId,
    KeyRequest, KeyVersion, Keyring, MasterKey, Salt,
};

fn cipher() -> Cipher {
    Cipher::new(
        Keyring::new(MasterKey::generate().unwrap()),
        Salt::new("transit-salt").unwrap(),
    )
}

fn version(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

fn spec(name: &str, algorithm: Algorithm) -> ContextSpec {
    ContextSpec::new(ContextName::parse(name).unwrap(), algorithm)
}

fn derived(name: &str, algorithm: Algorithm, convergent: bool) -> ContextSpec {
    ContextSpec {
        generation: Some(GenerationId::random().unwrap()),
        derived: true,
        convergent,
        ..spec(name, algorithm)
    }
}

fn with(derivation: &[u8]) -> KeyRequest<'_> {
    KeyRequest {
        version: None,
        derivation: Some(derivation),
    }
}

#[test]
fn explicit_versions_seal_under_that_version_and_follow_vaults_rules() {
    let c = cipher();
    let spec = ContextSpec {
        current_version: version(5),
        min_decryption_version: version(2),
        min_encryption_version: 3,
        ..spec("payments", Algorithm::Aes256Gcm)
    };
    for n in 3..=5 {
        let key = KeyRequest {
            version: Some(version(n)),
            derivation: None,
        };
        let sealed = c.seal_with(&spec, key, b"m", b"ad").unwrap();
        assert_eq!(sealed.version, version(n));
        assert!(sealed.to_vault_text().starts_with(&format!("vault:v{n}:")));
        assert_eq!(c.open(&spec, &sealed.envelope, b"ad").unwrap(), b"m");
    }
    let refused = |n: u32| {
        let key = KeyRequest {
            version: Some(version(n)),
            derivation: None,
        };
        c.seal_with(&spec, key, b"m", b"").unwrap_err()
    };
    assert_eq!(refused(6), CoreError::VersionAboveLatest);
    assert_eq!(refused(2), CoreError::VersionBelowMinEncryption);
    assert_eq!(refused(1), CoreError::VersionBelowMinEncryption);
    let no_min = ContextSpec {
        min_encryption_version: 0,
        ..spec.clone()
    };
    let key = KeyRequest {
        version: Some(version(1)),
        derivation: None,
    };
    assert_eq!(
        c.seal_with(&no_min, key, b"m", b"").unwrap_err(),
        CoreError::VersionRetired
    );
    assert_eq!(
        CoreError::VersionAboveLatest.to_string(),
        "requested version for encryption is higher than the latest key version"
    );
    assert_eq!(
        CoreError::VersionBelowMinEncryption.to_string(),
        "requested version for encryption is less than the minimum encryption key version"
    );
    // The same rules apply to data keys and to rewrap targets.
    let key = KeyRequest {
        version: Some(version(6)),
        derivation: None,
    };
    assert_eq!(
        c.generate_data_key_with(&spec, key, DataKeySize::Bits256)
            .unwrap_err(),
        CoreError::VersionAboveLatest
    );
    let sealed = c.seal(&spec, b"m", b"").unwrap();
    assert_eq!(
        c.rewrap_with(&spec, None, &sealed.envelope, b"", Some(version(2)))
            .unwrap_err(),
        CoreError::VersionBelowMinEncryption
    );
}

#[test]
fn rewrap_moves_to_the_target_version_keeping_derivation_and_ad() {
    let c = cipher();
    let spec = ContextSpec {
        current_version: version(4),
        ..derived("files", Algorithm::ChaCha20Poly1305, false)
    };
    let key = KeyRequest {
        version: Some(version(1)),
        derivation: Some(b"tenant-7"),
    };
    let old = c.seal_with(&spec, key, b"record", b"ad").unwrap();
    assert_eq!(old.version, version(1));
    let to_three = c
        .rewrap_with(
            &spec,
            Some(b"tenant-7"),
            &old.envelope,
            b"ad",
            Some(version(3)),
        )
        .unwrap();
    assert_eq!(to_three.version, version(3));
    let to_current = c
        .rewrap_with(&spec, Some(b"tenant-7"), &to_three.envelope, b"ad", None)
        .unwrap();
    assert_eq!(to_current.version, version(4));
    assert_eq!(
        c.open_with(&spec, Some(b"tenant-7"), &to_current.envelope, b"ad")
            .unwrap(),
        b"record"
    );
    assert_eq!(
        c.open_with(&spec, Some(b"tenant-8"), &to_current.envelope, b"ad")
            .unwrap_err(),
        CoreError::DecryptionFailed
    );
    assert_eq!(
        c.rewrap_with(&spec, Some(b"tenant-8"), &old.envelope, b"ad", None)
            .unwrap_err(),
        CoreError::DecryptionFailed
    );
    assert_eq!(
        c.rewrap(&spec, &old.envelope, b"ad").unwrap_err(),
        CoreError::MissingDerivationContext
    );
}

#[test]
fn derived_contexts_need_a_derivation_context_and_bind_it() {
    let c = cipher();
    for algorithm in Algorithm::ALL {
        let spec = derived("tenants", algorithm, false);
        let sealed = c
            .seal_with(&spec, with(b"tenant-1"), b"secret", b"")
            .unwrap();
        assert_eq!(
            c.open_with(&spec, Some(b"tenant-1"), &sealed.envelope, b"")
                .unwrap(),
            b"secret"
        );
        // Wrong, empty or missing derivation context.
        for wrong in [&b"tenant-2"[..], b""] {
            assert_eq!(
                c.open_with(&spec, Some(wrong), &sealed.envelope, b"")
                    .unwrap_err(),
                CoreError::DecryptionFailed
            );
        }
        let missing = CoreError::MissingDerivationContext;
        assert_eq!(c.open(&spec, &sealed.envelope, b"").unwrap_err(), missing);
        assert_eq!(
            c.open_text(&spec, &sealed.to_text(), b"").unwrap_err(),
            missing
        );
        assert_eq!(c.seal(&spec, b"x", b"").unwrap_err(), missing);
        assert_eq!(
            c.generate_data_key(&spec, DataKeySize::Bits128)
                .unwrap_err(),
            missing
        );
        // Random nonces: not convergent, so equal inputs still differ.
        let again = c
            .seal_with(&spec, with(b"tenant-1"), b"secret", b"")
            .unwrap();
        assert_ne!(again.envelope, sealed.envelope);
    }
    assert!(CoreError::MissingDerivationContext.to_string().starts_with(
        "missing 'context' for key derivation; the key was created using a derived key"
    ));
}

#[test]
fn non_derived_contexts_ignore_a_derivation_context() {
    let c = cipher();
    let spec = spec("plain", Algorithm::Aes256Gcm);
    let sealed = c.seal_with(&spec, with(b"anything"), b"m", b"").unwrap();
    assert_eq!(c.open(&spec, &sealed.envelope, b"").unwrap(), b"m");
    assert_eq!(
        c.open_with(&spec, Some(b"else"), &sealed.envelope, b"")
            .unwrap(),
        b"m"
    );
}

#[test]
fn convergent_sealing_is_deterministic_in_all_its_inputs() {
    let c = cipher();
    for algorithm in Algorithm::ALL {
        let spec = derived("lookup", algorithm, true);
        let seal = |derivation: &[u8], plaintext: &[u8], ad: &[u8]| {
            c.seal_with(&spec, with(derivation), plaintext, ad)
                .unwrap()
                .envelope
        };
        let base = seal(b"t1", b"alice@example.com", b"email");
        assert_eq!(seal(b"t1", b"alice@example.com", b"email"), base);
        assert_ne!(seal(b"t2", b"alice@example.com", b"email"), base);
        assert_ne!(seal(b"t1", b"bob@example.com", b"email"), base);
        assert_ne!(seal(b"t1", b"alice@example.com", b"phone"), base);
        // Different AD must mean a different nonce, not just a different tag.
        assert_ne!(
            seal(b"t1", b"alice@example.com", b"phone")[16..28],
            base[16..28]
        );
        assert_eq!(
            c.open_with(&spec, Some(b"t1"), &base, b"email").unwrap(),
            b"alice@example.com"
        );
        assert_eq!(
            c.open_with(&spec, Some(b"t2"), &base, b"email")
                .unwrap_err(),
            CoreError::DecryptionFailed
        );
        // A rotated context seals the same value differently under the new version.
        let rotated = ContextSpec {
            current_version: version(2),
            ..spec.clone()
        };
        let v2 = c
            .seal_with(&rotated, with(b"t1"), b"alice@example.com", b"email")
            .unwrap();
        assert_ne!(v2.envelope, base);
        let pinned = KeyRequest {
            version: Some(version(1)),
            derivation: Some(b"t1"),
        };
        let v1 = c
            .seal_with(&rotated, pinned, b"alice@example.com", b"email")
            .unwrap();
        assert_eq!(v1.envelope, base);
        // Rewrap of a convergent ciphertext is deterministic too.
        let a = c
            .rewrap_with(&rotated, Some(b"t1"), &base, b"email", None)
            .unwrap();
        assert_eq!(a.envelope, v2.envelope);
    }
}

#[test]
fn convergent_requires_derived() {
    let c = cipher();
    let spec = ContextSpec {
        convergent: true,
        ..spec("bad", Algorithm::Aes256Gcm)
    };
    let refused = CoreError::ConvergentRequiresDerivation;
    assert_eq!(spec.validate().unwrap_err(), refused);
    assert_eq!(
        c.seal_with(&spec, with(b"t"), b"m", b"").unwrap_err(),
        refused
    );
    assert_eq!(c.seal(&spec, b"m", b"").unwrap_err(), refused);
    assert_eq!(
        refused.to_string(),
        "convergent encryption requires derivation to be enabled"
    );
}

#[test]
fn a_recreated_context_cannot_open_its_predecessors_ciphertext() {
    let c = cipher();
    for derivation in [None, Some(&b"t"[..])] {
        let make = || ContextSpec {
            generation: Some(GenerationId::random().unwrap()),
            derived: derivation.is_some(),
            ..spec("recycled", Algorithm::Aes256Gcm)
        };
        let (first, second) = (make(), make());
        assert_ne!(first.generation, second.generation);
        let key = KeyRequest {
            version: None,
            derivation,
        };
        let a = c.seal_with(&first, key, b"old", b"").unwrap();
        let b = c.seal_with(&second, key, b"new", b"").unwrap();
        assert_eq!(
            c.open_with(&first, derivation, &a.envelope, b"").unwrap(),
            b"old"
        );
        assert_eq!(
            c.open_with(&second, derivation, &b.envelope, b"").unwrap(),
            b"new"
        );
        for (spec, envelope) in [(&second, &a.envelope), (&first, &b.envelope)] {
            assert_eq!(
                c.open_with(spec, derivation, envelope, b"").unwrap_err(),
                CoreError::DecryptionFailed
            );
        }
        // Nor can a generation-less (pre-existing) context of the same name.
        let legacy = ContextSpec {
            generation: None,
            ..first.clone()
        };
        assert_eq!(
            c.open_with(&legacy, derivation, &a.envelope, b"")
                .unwrap_err(),
            CoreError::DecryptionFailed
        );
    }
}

#[test]
fn data_keys_come_in_three_sizes_and_derived_ones_unwrap_with_their_context() {
    let c = cipher();
    let spec = derived("files", Algorithm::Aes256Gcm, false);
    for (size, len) in [
        (DataKeySize::Bits128, 16),
        (DataKeySize::Bits256, 32),
        (DataKeySize::Bits512, 64),
    ] {
        let key = c
            .generate_data_key_with(&spec, with(b"bucket-3"), size)
            .unwrap();
        assert_eq!(key.plaintext.len(), len);
        let bytes = text::decode_any(&key.wrapped.to_vault_text()).unwrap();
        assert_eq!(
            c.open_with(&spec, Some(b"bucket-3"), &bytes, b"").unwrap(),
            *key.plaintext
        );
    }
    assert_eq!(DataKeySize::from_bits(512).unwrap(), DataKeySize::Bits512);
}

#[test]
fn both_text_forms_open_through_the_native_api() {
    let c = cipher();
    let spec = ContextSpec {
        current_version: version(3),
        ..spec("payments", Algorithm::ChaCha20Poly1305)
    };
    let sealed = c.seal(&spec, b"hello", b"ad").unwrap();
    let vault = sealed.to_vault_text();
    assert!(vault.starts_with("vault:v3:"));
    assert_eq!(c.open_text(&spec, &vault, b"ad").unwrap(), b"hello");
    assert_eq!(
        c.open_text(&spec, &sealed.to_text(), b"ad").unwrap(),
        b"hello"
    );
    assert_eq!(text::claimed_version(&vault), Some(version(3)));
    assert_eq!(
        c.open_text(&spec, &vault.replace("vault:v3:", "vault:v2:"), b"ad")
            .unwrap_err(),
        CoreError::DecryptionFailed
    );
}
