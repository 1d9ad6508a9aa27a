//! Criterion benches for the pieces every crypto request runs through before the core:
//! JWT verification (cold and cached), JSON + base64 parsing of an encrypt body, and the
//! in-process rate limiter.
//!
//! `cargo bench -p cryptoserve-server --bench hot_path`
//!
//! The parsing bench reads `cryptoserve_api::EncryptRequest`, the very type the route takes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use cryptoserve_ratelimit::{Check, Dimension, LocalLimiter, Policy};
use cryptoserve_server::auth::TokenService;
use cryptoserve_server::rate_limit::PolicySet;
use cryptoserve_store::Role;

const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret!!";

fn token_service() -> TokenService {
    TokenService::new(SECRET, "cryptoserve", "cryptoserve")
}

fn bench_jwt(c: &mut Criterion) {
    let issuer = token_service();
    let token = issuer
        .issue(
            "0b7e3f9c-5d1a-4f2e-9a51-3c0d2b8e6f10",
            "payments-service",
            Role::Service,
            &["payments".to_owned(), "billing".to_owned()],
            Utc::now() + Duration::hours(1),
        )
        .expect("issue");
    let mut group = c.benchmark_group("jwt_verify");
    // Cold: a fresh service each time, so every call parses, checks the HMAC and the claims.
    group.bench_function("cold", |b| {
        b.iter_batched(
            token_service,
            |service| black_box(service.verify(black_box(&token)).expect("valid")),
            BatchSize::SmallInput,
        );
    });
    // Warm: the verified-token cache answers (SHA-256 of the token + cache lookup).
    let warm = token_service();
    warm.verify(&token).expect("valid");
    group.bench_function("warm_cached", |b| {
        b.iter(|| black_box(warm.verify(black_box(&token)).expect("valid")));
    });
    group.finish();
}

fn encrypt_body(plaintext_len: usize) -> Vec<u8> {
    let plaintext: Vec<u8> = (0..plaintext_len).map(|i| (i % 251) as u8).collect();
    serde_json::to_vec(&serde_json::json!({
        "context": "payments",
        "plaintext": STANDARD.encode(&plaintext),
    }))
    .expect("serialise")
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_encrypt_body");
    for plaintext_len in [256_usize, 16 * 1024] {
        let body = encrypt_body(plaintext_len);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{plaintext_len}B"), |b| {
            b.iter(|| {
                let parsed: cryptoserve_api::EncryptRequest =
                    serde_json::from_slice(black_box(&body)).expect("json");
                let plaintext = STANDARD.decode(&parsed.plaintext).expect("base64");
                black_box((parsed.context, plaintext))
            });
        });
    }
    group.finish();
}

fn bench_limiter(c: &mut Criterion) {
    // Limits far above what the bench can reach, so every call takes the admit path.
    let roomy = Policy {
        requests_per_minute: u32::MAX,
        burst_size: u32::MAX,
        enabled: true,
    };
    let checks = [
        Check::new(Dimension::Ip, "127.0.0.1", roomy),
        Check::new(Dimension::Identity, "0b7e3f9c-5d1a-4f2e", roomy),
        Check::new(Dimension::Context, "payments", roomy),
    ];
    let limiter = LocalLimiter::new();
    let mut group = c.benchmark_group("local_limiter");
    group.bench_function("check_3", |b| {
        b.iter(|| black_box(limiter.check(black_box(&checks), 1)));
    });
    // What the server does per request: build the three checks from the policy snapshot
    // (IP formatting, key strings), then decide.
    let mut policies = PolicySet::default();
    for dimension in Dimension::ALL {
        policies.defaults.set(dimension, roomy);
    }
    let ip = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    group.bench_function("build_checks_and_check_3", |b| {
        b.iter(|| {
            let checks = policies.checks(ip, "0b7e3f9c-5d1a-4f2e", "payments");
            black_box(limiter.check(&checks, 1))
        });
    });
    group.finish();
}

criterion_group!(benches, bench_jwt, bench_parse, bench_limiter);
criterion_main!(benches);
