//! Envelope seal ÷ raw `ring` seal, measured in short alternating batches.
//!
//! On a shared, noisy machine criterion's separate sample runs for the two variants drift by
//! ±25 % between runs, which hides changes of a few percent. This alternates 2 000-message
//! batches of each variant 300 times and reports the fastest and 10th-percentile batch, which
//! noise can only make slower. The raw variant is `support::raw_seal`, the one `envelope.rs` uses
//! (alloc + copy + seal, counter nonce, no associated data).
//!
//! Run: `cargo bench -p cryptoserve-core --bench seal_ratio`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

mod support;
use support::{cipher, raw_key, raw_seal, spec};

const ROUNDS: usize = 300;

fn per_message_ns(iters: usize, mut routine: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        routine();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

fn main() {
    let cipher = cipher();
    let spec = spec();
    let raw = raw_key();
    let mut counter = 0u64;
    for size in [64usize, 1024, 16 * 1024] {
        let plaintext = vec![0xabu8; size];
        let iters = if size > 4096 { 200 } else { 2000 };
        let (mut envelope, mut raw_ring) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            envelope.push(per_message_ns(iters, || {
                black_box(cipher.seal(&spec, black_box(&plaintext), b"").unwrap());
            }));
            raw_ring.push(per_message_ns(iters, || {
                black_box(raw_seal(&raw, &mut counter, &plaintext));
            }));
        }
        envelope.sort_by(f64::total_cmp);
        raw_ring.sort_by(f64::total_cmp);
        let (e_min, r_min) = (envelope[0], raw_ring[0]);
        let (e_p10, r_p10) = (envelope[ROUNDS / 10], raw_ring[ROUNDS / 10]);
        println!(
            "seal {size:>5} B: fastest envelope {e_min:7.1} ns, raw {r_min:7.1} ns, ratio {:4.1} % \
             | p10 envelope {e_p10:7.1} ns, raw {r_p10:7.1} ns, ratio {:4.1} %",
            100.0 * r_min / e_min,
            100.0 * r_p10 / e_p10,
        );
    }
}
