//! Envelope seal/open against raw `ring` in the same group, and derivation cold vs warm.
//!
//! Run: `cargo bench -p cryptoserve-core --bench envelope`. Figures go to `benches/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use cryptoserve_core::derive::{derive_context_key, KeyId, Purpose};
use cryptoserve_core::{Algorithm, ContextName, KeyVersion, MasterKey, Salt};
use std::hint::black_box;

mod support;
use support::{cipher, raw_key, raw_seal, spec};

const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

fn seal(c: &mut Criterion) {
    let cipher = cipher();
    let spec = spec();
    let raw = raw_key();
    let mut group = c.benchmark_group("seal");
    for size in SIZES {
        let plaintext = vec![0xabu8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("envelope", size), &plaintext, |b, p| {
            b.iter(|| cipher.seal(&spec, black_box(p), b"").unwrap())
        });
        let mut counter = 0u64;
        group.bench_with_input(BenchmarkId::new("raw_ring", size), &plaintext, |b, p| {
            b.iter(|| raw_seal(&raw, &mut counter, p))
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
                &KeyId::new(black_box(&name), KeyVersion::FIRST, Algorithm::Aes256Gcm),
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
