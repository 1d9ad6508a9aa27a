//! Envelope seal/open against raw `ring` in the same group, and derivation cold vs warm.
//!
//! Run: `cargo bench -p cryptoserve-core --bench envelope`. Figures go to `benches/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cryptoserve_core::derive::{derive_context_key, Purpose};
use cryptoserve_core::{
    Algorithm, Cipher, ContextName, ContextSpec, KeyVersion, Keyring, MasterKey, Salt,
};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::hint::black_box;

const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

fn cipher() -> Cipher {
    Cipher::new(
        Keyring::new(MasterKey::from_bytes([7; 32])),
        Salt::new("bench").unwrap(),
    )
}

fn spec() -> ContextSpec {
    ContextSpec::new(
        ContextName::parse("payments").unwrap(),
        Algorithm::Aes256Gcm,
    )
}

fn seal(c: &mut Criterion) {
    let cipher = cipher();
    let spec = spec();
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let mut group = c.benchmark_group("seal");
    for size in SIZES {
        let plaintext = vec![0xabu8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("envelope", size), &plaintext, |b, p| {
            b.iter(|| cipher.seal(&spec, black_box(p), b"").unwrap())
        });
        let mut counter = 0u64;
        group.bench_with_input(BenchmarkId::new("raw_ring", size), &plaintext, |b, p| {
            b.iter(|| {
                // Raw baseline: copy into a fresh buffer and seal, as the envelope must too.
                counter += 1;
                let mut nonce = [0u8; 12];
                nonce[..8].copy_from_slice(&counter.to_be_bytes());
                let mut buffer = Vec::with_capacity(p.len() + 16);
                buffer.extend_from_slice(black_box(p));
                let tag = raw
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::empty(),
                        &mut buffer,
                    )
                    .unwrap();
                buffer.extend_from_slice(tag.as_ref());
                buffer
            })
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let cipher = cipher();
    let spec = spec();
    let mut group = c.benchmark_group("open");
    for size in SIZES {
        let sealed = cipher.seal(&spec, &vec![0xabu8; size], b"").unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("envelope", size),
            &sealed.envelope,
            |b, e| b.iter(|| cipher.open(&spec, black_box(e), b"").unwrap()),
        );
    }
    group.finish();
}

fn derivation(c: &mut Criterion) {
    let master = MasterKey::from_bytes([7; 32]);
    let salt = Salt::new("bench").unwrap();
    let name = ContextName::parse("payments").unwrap();
    let mut group = c.benchmark_group("derive");
    group.bench_function("cold_hkdf_only", |b| {
        b.iter(|| {
            derive_context_key(
                &master,
                &salt,
                Purpose::AeadKey,
                black_box(&name),
                KeyVersion::FIRST,
                Algorithm::Aes256Gcm,
            )
            .unwrap()
        })
    });
    // Cold: a fresh engine per iteration, so every seal derives (2×HKDF, HMAC, key schedule).
    group.bench_function("cold_seal_64", |b| {
        b.iter_batched(
            cipher,
            |fresh| fresh.seal(&spec(), &[0u8; 64], b"").unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    let warm = cipher();
    warm.seal(&spec(), b"", b"").unwrap();
    group.bench_function("warm_seal_64", |b| {
        b.iter(|| warm.seal(&spec(), &[0u8; 64], b"").unwrap())
    });
    group.finish();
}

criterion_group!(benches, seal, open, derivation);
criterion_main!(benches);
