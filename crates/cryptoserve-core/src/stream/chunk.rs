//! One chunk at a time: the STREAM nonce, the counter, sealing and opening.
//!
//! ```text
//! nonce(i, last) = nonce prefix (7 bytes) ‖ u32be(i) ‖ u8(last ? 1 : 0)
//! ```
//!
//! The counter makes each chunk valid only at its position; the flag makes the final chunk
//! valid only as the final one, so dropping chunks at the end, or appending any, is detected.

use ring::aead::{LessSafeKey, NONCE_LEN};

use super::keys::{FileKeys, NONCE_PREFIX_LEN};
use crate::aead::{self, TAG_LEN};
use crate::error::{CoreError, Result};

/// Chunks carry no associated data: the header is already bound into the payload key.
const NO_AAD: &[u8] = b"";

/// The payload key and the position in the stream.
pub(super) struct ChunkCipher {
    key: LessSafeKey,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    /// Index of the next chunk to seal or open.
    next: u64,
}

impl ChunkCipher {
    pub(super) fn new(keys: FileKeys) -> Self {
        Self {
            key: keys.payload,
            nonce_prefix: keys.nonce_prefix,
            next: 0,
        }
    }

    /// Index of the next chunk.
    pub(super) fn index(&self) -> u64 {
        self.next
    }

    fn nonce(&self, last: bool) -> Result<[u8; NONCE_LEN]> {
        let counter = u32::try_from(self.next).map_err(|_| CoreError::FileTooLarge)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..NONCE_PREFIX_LEN].copy_from_slice(&self.nonce_prefix);
        nonce[NONCE_PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&counter.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        Ok(nonce)
    }

    /// Seals the next chunk and appends ciphertext ‖ tag to `out`.
    pub(super) fn seal_into(
        &mut self,
        plaintext: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let nonce = self.nonce(last)?;
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = aead::seal_detached(&self.key, nonce, NO_AAD, &mut out[start..])?;
        out.extend_from_slice(&tag);
        self.next += 1;
        Ok(())
    }

    /// Opens `ciphertext` as the next chunk and appends its plaintext to `out`. On failure
    /// `out` is left as it was and the position does not move.
    pub(super) fn open_into(
        &mut self,
        ciphertext: &[u8],
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let failed = CoreError::FileChunkAuthenticationFailed { chunk: self.next };
        let nonce = self.nonce(last)?;
        if ciphertext.len() < TAG_LEN {
            return Err(failed);
        }
        let start = out.len();
        out.extend_from_slice(ciphertext);
        match aead::open_in_place(&self.key, nonce, NO_AAD, &mut out[start..]) {
            Ok(_) => {
                out.truncate(out.len() - TAG_LEN);
                self.next += 1;
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(failed)
            }
        }
    }

    /// Whether `ciphertext` authenticates as the next chunk with the given flag, without
    /// keeping its plaintext or moving on. Used only after a failure, to name its cause.
    pub(super) fn authenticates_as(&self, ciphertext: &[u8], last: bool) -> bool {
        let Ok(nonce) = self.nonce(last) else {
            return false;
        };
        let mut scratch = zeroize::Zeroizing::new(ciphertext.to_vec());
        ciphertext.len() >= TAG_LEN
            && aead::open_in_place(&self.key, nonce, NO_AAD, &mut scratch).is_ok()
    }
}

impl std::fmt::Debug for ChunkCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkCipher")
            .field("key", &"[redacted]")
            .field("next", &self.next)
            .finish()
    }
}
