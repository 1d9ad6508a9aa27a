//! Fresh 96-bit nonces without a system call per message.
//!
//! `ring`'s `SystemRandom` makes one `getrandom` call per request, which costs more than
//! sealing a kilobyte. Each thread instead keeps a pool of 341 nonces filled from
//! `SystemRandom` in one call and hands each 12-byte chunk out exactly once, then refills.
//! Every nonce is still uniformly random from the OS generator and never reused within the
//! process. The pool is per thread and never copied; the server does not fork (a forked
//! child would inherit unused pool bytes, so a forking caller must not use this engine across
//! `fork`).

use std::cell::RefCell;

use ring::rand::{SecureRandom, SystemRandom};

use crate::envelope::NONCE_LEN;
use crate::error::{CoreError, Result};

const POOL_NONCES: usize = 341;
const POOL_BYTES: usize = POOL_NONCES * NONCE_LEN;

struct Pool {
    bytes: [u8; POOL_BYTES],
    /// Index of the next unused nonce; `POOL_NONCES` means empty.
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0u8; POOL_BYTES], next: POOL_NONCES })
    };
}

/// Returns a fresh random nonce.
pub fn fresh_nonce(rng: &SystemRandom) -> Result<[u8; NONCE_LEN]> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.next >= POOL_NONCES {
            rng.fill(&mut pool.bytes)
                .map_err(|_| CoreError::RandomFailure)?;
            pool.next = 0;
        }
        let start = pool.next * NONCE_LEN;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&pool.bytes[start..start + NONCE_LEN]);
        // Burn the used bytes so a nonce can never be handed out twice.
        pool.bytes[start..start + NONCE_LEN].fill(0);
        pool.next += 1;
        Ok(nonce)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn nonces_do_not_repeat_across_refills() {
        let rng = SystemRandom::new();
        let mut seen = HashSet::new();
        for _ in 0..(POOL_NONCES * 5 + 7) {
            assert!(seen.insert(fresh_nonce(&rng).unwrap()), "nonce repeated");
        }
    }

    #[test]
    fn threads_get_independent_nonces() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    let rng = SystemRandom::new();
                    (0..500)
                        .map(|_| fresh_nonce(&rng).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for nonce in handle.join().unwrap() {
                assert!(seen.insert(nonce));
            }
        }
    }
}
