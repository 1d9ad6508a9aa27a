//! The writing side: plaintext in, in pieces of any size; file bytes out.

use zeroize::Zeroizing;

use super::chunk::ChunkCipher;
use super::header::FileHeader;
use super::keys;
use crate::error::Result;

/// Encrypts one file as a stream. Push plaintext in pieces of any size, then call
/// [`finish`](Self::finish); the concatenation of everything returned is the file, header
/// first. Memory stays at about one chunk whatever the file size.
pub struct Encoder {
    chunks: ChunkCipher,
    chunk_size: usize,
    /// The encoded header (with MAC) until it has been emitted with the first output.
    header: Option<Vec<u8>>,
    /// Plaintext not yet sealed: at most one chunk, held back until we know whether more
    /// follows (a full chunk may be the final one).
    pending: Zeroizing<Vec<u8>>,
}

impl Encoder {
    /// Derives the file's keys from the data key (32 or 64 bytes, the plaintext returned by
    /// the `datakey` endpoint) and the header.
    pub fn new(data_key: &[u8], header: &FileHeader) -> Result<Self> {
        let mut encoded = header.encode_body();
        let keys = keys::derive(data_key, header.algorithm(), header.salt(), &encoded)?;
        encoded.extend_from_slice(&keys.header_mac);
        let chunk_size = header.chunk_size().bytes();
        Ok(Self {
            chunks: ChunkCipher::new(keys),
            chunk_size,
            header: Some(encoded),
            // Sized once so the buffer never reallocates (which would leave unzeroized
            // copies of plaintext behind).
            pending: Zeroizing::new(Vec::with_capacity(chunk_size)),
        })
    }

    /// Encrypts the next piece of plaintext; returns the file bytes now ready (possibly none).
    pub fn push(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.push_into(plaintext, &mut out)?;
        Ok(out)
    }

    /// As [`push`](Self::push), appending to the caller's buffer so it can be reused.
    pub fn push_into(&mut self, mut plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.emit_header(out);
        let chunk_size = self.chunk_size;
        if !self.pending.is_empty() {
            let room = chunk_size - self.pending.len();
            if plaintext.len() <= room {
                self.pending.extend_from_slice(plaintext);
                return Ok(());
            }
            // The pending chunk fills up and more follows, so it is not the final one.
            self.pending.extend_from_slice(&plaintext[..room]);
            plaintext = &plaintext[room..];
            out.reserve(chunk_size + crate::aead::TAG_LEN);
            self.chunks.seal_into(&self.pending, false, out)?;
            self.pending.clear();
        }
        // Seal full chunks straight from the input while more input follows them.
        while plaintext.len() > chunk_size {
            let (chunk, rest) = plaintext.split_at(chunk_size);
            self.chunks.seal_into(chunk, false, out)?;
            plaintext = rest;
        }
        self.pending.extend_from_slice(plaintext);
        Ok(())
    }

    /// Seals the held-back plaintext (possibly empty) as the final chunk and returns the last
    /// file bytes. An empty file is a header and one empty final chunk.
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.finish_into(&mut out)?;
        Ok(out)
    }

    /// As [`finish`](Self::finish), appending to the caller's buffer.
    pub fn finish_into(mut self, out: &mut Vec<u8>) -> Result<()> {
        self.emit_header(out);
        self.chunks.seal_into(&self.pending, true, out)
    }

    fn emit_header(&mut self, out: &mut Vec<u8>) {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
    }
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("chunks", &self.chunks)
            .field("chunk_size", &self.chunk_size)
            .field("pending", &self.pending.len())
            .finish()
    }
}
