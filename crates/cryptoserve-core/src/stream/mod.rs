//! Streaming file encryption: files of any size sealed in constant memory under one data key
//! (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, 2015, laid out like
//! Tink's streaming AEAD and age's payload). `docs/file-format.md` specifies the bytes.
//!
//! The data key comes from the server's `datakey` endpoint; its wrapped form travels in the
//! file header. Everything here works on byte slices, so any reader or writer can drive it:
//! - [`header`]: [`FileHeader`] (what a writer chooses), [`header_len`] and
//!   [`UnverifiedHeader`] (what a reader finds before it has the key), [`ChunkSize`].
//! - `keys`: HKDF-SHA256 from the data key and per-file salt to the header MAC and the
//!   payload key, bound to the whole header.
//! - `chunk`: the STREAM nonce (prefix ‖ counter ‖ final flag) and one chunk's seal / open.
//! - [`Encoder`] / [`Decoder`]: push bytes in pieces of any size, get bytes out; they find the
//!   chunk boundaries and the final chunk themselves.
//!
//! ```
//! use cryptoserve_core::stream::{header_len, ChunkSize, Decoder, Encoder, FileHeader, UnverifiedHeader};
//! use cryptoserve_core::Algorithm;
//!
//! # fn main() -> cryptoserve_core::Result<()> {
//! // From the `datakey` endpoint: the plaintext key and its wrapped text.
//! let data_key = [7u8; 32];
//! let header = FileHeader::new(Algorithm::Aes256Gcm, ChunkSize::DEFAULT, "cs1:v1:Q1MBAQ", None)?;
//!
//! let mut encoder = Encoder::new(&data_key, &header)?;
//! let mut file = encoder.push(b"hello, ")?;
//! file.extend(encoder.push(b"world")?);
//! file.extend(encoder.finish()?);
//!
//! // Reading: the header says how long it is and which key to unwrap.
//! let len = header_len(&file)?;
//! let found = UnverifiedHeader::parse(&file[..len])?;
//! assert_eq!(found.header().wrapped_key(), "cs1:v1:Q1MBAQ");
//! let mut decoder = Decoder::new(&data_key, &found)?; // checks the header MAC
//! let mut plaintext = decoder.push(&file[len..])?;
//! plaintext.extend(decoder.finish()?); // only now is the whole file confirmed
//! assert_eq!(plaintext, b"hello, world");
//! # Ok(())
//! # }
//! ```

mod chunk;
mod decoder;
mod encoder;
pub mod header;
mod keys;
#[cfg(test)]
mod vectors;

pub use decoder::Decoder;
pub use encoder::Encoder;
pub use header::{header_len, ChunkSize, FileHeader, UnverifiedHeader, PREFIX_LEN};
