//! The reading side: file bytes after the header in, in pieces of any size; plaintext out.
//!
//! A chunk's ciphertext is `chunk_size + 16` bytes except for the final one, which is 16 to
//! `chunk_size + 16`. The decoder holds back one full chunk until it sees whether more bytes
//! follow, so the caller never has to know where the file ends.

use super::chunk::ChunkCipher;
use super::header::UnverifiedHeader;
use super::keys;
use crate::aead::TAG_LEN;
use crate::error::{CoreError, Result};

/// Decrypts one file as a stream.
///
/// Each chunk's plaintext is released as soon as that chunk authenticates, but the file as a
/// whole is intact only when [`finish`](Self::finish) returns `Ok`: until then a truncated
/// file looks like a shorter one. Write plaintext to a temporary place and publish it only
/// after `finish` succeeds. After any error the decoder refuses all further input.
pub struct Decoder {
    chunks: ChunkCipher,
    /// Ciphertext length of every non-final chunk.
    full_chunk: usize,
    /// Ciphertext not yet opened: at most one full chunk.
    pending: Vec<u8>,
    /// The first error, returned again by every later call.
    failed: Option<CoreError>,
}

impl Decoder {
    /// Verifies the header's MAC with the data key (the wrapped key from that header,
    /// unwrapped by the server) and prepares to decrypt the chunks that follow it.
    pub fn new(data_key: &[u8], header: &UnverifiedHeader) -> Result<Self> {
        let fields = header.header();
        let keys = keys::derive(data_key, fields.algorithm(), fields.salt(), header.body())?;
        if !keys::macs_match(&keys.header_mac, header.mac()) {
            return Err(CoreError::FileHeaderAuthenticationFailed);
        }
        let full_chunk = fields.chunk_size().bytes() + TAG_LEN;
        Ok(Self {
            chunks: ChunkCipher::new(keys),
            full_chunk,
            pending: Vec::with_capacity(full_chunk),
            failed: None,
        })
    }

    /// Decrypts the next piece of the file (the bytes after the header); returns the
    /// plaintext of every chunk completed and known not to be the last.
    pub fn push(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.push_into(ciphertext, &mut out)?;
        Ok(out)
    }

    /// As [`push`](Self::push), appending to the caller's buffer. On error, plaintext of the
    /// chunks that did authenticate in this call may already have been appended.
    pub fn push_into(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.consume(ciphertext, out);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    /// Opens the held-back bytes as the final chunk, returns its plaintext, and so confirms
    /// the whole file. Fails if the input ended before the final chunk.
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.finish_into(&mut out)?;
        Ok(out)
    }

    /// As [`finish`](Self::finish), appending to the caller's buffer.
    pub fn finish_into(mut self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if self.pending.len() < TAG_LEN {
            // Nothing, or less than a tag, after the last complete non-final chunk.
            return Err(CoreError::FileTruncated);
        }
        let start = out.len();
        if let Err(error) = self.chunks.open_into(&self.pending, true, out) {
            // A full chunk that is valid as a non-final one: the chunks after it are missing.
            return Err(if self.chunks.authenticates_as(&self.pending, false) {
                CoreError::FileTruncated
            } else {
                error
            });
        }
        if out.len() == start && self.chunks.index() > 1 {
            out.truncate(start);
            // The encoder only writes an empty final chunk for an empty file; refusing others
            // keeps one encoding per plaintext.
            return Err(CoreError::FileCorrupt {
                reason: "empty final chunk after data",
            });
        }
        Ok(())
    }

    fn consume(&mut self, mut ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let full = self.full_chunk;
        if !self.pending.is_empty() {
            let room = full - self.pending.len();
            if ciphertext.len() <= room {
                self.pending.extend_from_slice(ciphertext);
                return Ok(());
            }
            self.pending.extend_from_slice(&ciphertext[..room]);
            ciphertext = &ciphertext[room..];
            let pending = std::mem::take(&mut self.pending);
            let opened = self.open_middle(&pending, out);
            self.pending = pending;
            self.pending.clear();
            opened?;
        }
        // Open full chunks straight from the input while more input follows them.
        while ciphertext.len() > full {
            let (chunk, rest) = ciphertext.split_at(full);
            self.open_middle(chunk, out)?;
            ciphertext = rest;
        }
        self.pending.extend_from_slice(ciphertext);
        Ok(())
    }

    /// Opens a chunk that has bytes after it, so must not be the final one.
    fn open_middle(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.reserve(chunk.len());
        self.chunks.open_into(chunk, false, out).map_err(|error| {
            // Valid as the final chunk: the file ended here and the rest was appended.
            if self.chunks.authenticates_as(chunk, true) {
                CoreError::FileTrailingData
            } else {
                error
            }
        })
    }
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("chunks", &self.chunks)
            .field("full_chunk", &self.full_chunk)
            .field("pending", &self.pending.len())
            .field("failed", &self.failed)
            .finish()
    }
}
