//! The version-1 binary envelope (specified in `docs/ciphertext-format.md`).
//!
//! ```text
//! "CS" | 0x01 | alg | master key id (8) | key version (u32be) | nonce (12) | commitment (32) | ciphertext || tag
//! ```
//!
//! Parsing never panics: every malformed input is [`CoreError::DecryptionFailed`].

use crate::aead::TAG_LEN;
use crate::algorithm::Algorithm;
use crate::context::{ContextName, KeyVersion};
use crate::error::{CoreError, Result};
use crate::master_key::MasterKeyId;

/// First two bytes of every envelope.
pub const MAGIC: [u8; 2] = *b"CS";
/// The format version this module reads and writes.
pub const FORMAT_VERSION: u8 = 1;
/// Nonce length (96 bits).
pub const NONCE_LEN: usize = 12;
/// Key commitment length.
pub const COMMITMENT_LEN: usize = 32;
/// Header length: magic, format, algorithm, master key id, version, nonce, commitment.
pub const HEADER_LEN: usize = 2 + 1 + 1 + MasterKeyId::LEN + 4 + NONCE_LEN + COMMITMENT_LEN;
/// The shortest valid envelope (empty plaintext).
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;

/// The parsed header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// AEAD used.
    pub algorithm: Algorithm,
    /// Master key that derived the context key.
    pub master_key_id: MasterKeyId,
    /// Context key version.
    pub version: KeyVersion,
    /// The message's nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Key commitment of the sealing key.
    pub commitment: [u8; COMMITMENT_LEN],
}

impl Header {
    /// Serialises the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..2].copy_from_slice(&MAGIC);
        out[2] = FORMAT_VERSION;
        out[3] = self.algorithm.id();
        out[4..12].copy_from_slice(self.master_key_id.as_bytes());
        out[12..16].copy_from_slice(&self.version.get().to_be_bytes());
        out[16..28].copy_from_slice(&self.nonce);
        out[28..60].copy_from_slice(&self.commitment);
        out
    }
}

/// A parsed, not yet authenticated, envelope borrowing its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeRef<'a> {
    /// Header fields.
    pub header: Header,
    /// The header exactly as received (bound into the associated data).
    pub header_bytes: &'a [u8],
    /// Ciphertext followed by the tag.
    pub body: &'a [u8],
}

/// Splits and checks the structure of an envelope. Authentication happens later.
pub fn parse(bytes: &[u8]) -> Result<EnvelopeRef<'_>> {
    let fail = || CoreError::DecryptionFailed;
    if bytes.len() < MIN_LEN {
        return Err(fail());
    }
    let (header_bytes, body) = bytes.split_at(HEADER_LEN);
    if header_bytes[0..2] != MAGIC || header_bytes[2] != FORMAT_VERSION {
        return Err(fail());
    }
    let algorithm = Algorithm::from_id(header_bytes[3]).ok_or_else(fail)?;
    let master_key_id =
        MasterKeyId::from_bytes(header_bytes[4..12].try_into().map_err(|_| fail())?);
    let version = u32::from_be_bytes(header_bytes[12..16].try_into().map_err(|_| fail())?);
    let version = KeyVersion::new(version).map_err(|_| fail())?;
    let nonce = header_bytes[16..28].try_into().map_err(|_| fail())?;
    let commitment = header_bytes[28..60].try_into().map_err(|_| fail())?;
    Ok(EnvelopeRef {
        header: Header {
            algorithm,
            master_key_id,
            version,
            nonce,
            commitment,
        },
        header_bytes,
        body,
    })
}

/// Builds the AEAD associated data:
/// `header || u32be(len(context)) || context || u32be(len(ad)) || ad`.
pub fn associated_data(header: &[u8], context: &ContextName, ad: &[u8]) -> Vec<u8> {
    let context = context.as_str().as_bytes();
    let mut out = Vec::with_capacity(header.len() + 8 + context.len() + ad.len());
    out.extend_from_slice(header);
    push_u32_prefixed(&mut out, context);
    push_u32_prefixed(&mut out, ad);
    out
}

/// Calls `f` with the associated data, built on the stack when it fits (the common case:
/// header, a short context name and little caller data), so sealing small messages does not
/// allocate for it. The bytes are exactly those of [`associated_data`].
pub fn with_associated_data<T>(
    header: &[u8],
    context: &ContextName,
    ad: &[u8],
    f: impl FnOnce(&[u8]) -> T,
) -> T {
    const STACK: usize = 256;
    let context_bytes = context.as_str().as_bytes();
    let len = header.len() + 8 + context_bytes.len() + ad.len();
    if len > STACK {
        return f(&associated_data(header, context, ad));
    }
    let mut buffer = [0u8; STACK];
    let mut at = 0;
    for part in [
        header,
        &(context_bytes.len() as u32).to_be_bytes(),
        context_bytes,
        &(ad.len() as u32).to_be_bytes(),
        ad,
    ] {
        buffer[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    f(&buffer[..at])
}

fn push_u32_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    // Request bodies are capped far below 4 GiB; saturate rather than panic.
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_header() -> Header {
        Header {
            algorithm: Algorithm::ChaCha20Poly1305,
            master_key_id: MasterKeyId::from_bytes([9; 8]),
            version: KeyVersion::new(7).unwrap(),
            nonce: [3; NONCE_LEN],
            commitment: [5; COMMITMENT_LEN],
        }
    }

    #[test]
    fn header_round_trips() {
        let header = sample_header();
        let mut bytes = header.encode().to_vec();
        bytes.extend_from_slice(&[0u8; TAG_LEN]);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.header, header);
        assert_eq!(parsed.body.len(), TAG_LEN);
        assert_eq!(HEADER_LEN, 60);
    }

    #[test]
    fn structural_errors_are_uniform() {
        let mut good = sample_header().encode().to_vec();
        good.extend_from_slice(&[0u8; TAG_LEN]);
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        let mut bad_format = good.clone();
        bad_format[2] = 2;
        let mut bad_alg = good.clone();
        bad_alg[3] = 9;
        let mut zero_version = good.clone();
        zero_version[12..16].copy_from_slice(&[0; 4]);
        for bad in [
            &good[..MIN_LEN - 1],
            &bad_magic,
            &bad_format,
            &bad_alg,
            &zero_version,
            &[],
        ] {
            assert_eq!(parse(bad).unwrap_err(), CoreError::DecryptionFailed);
        }
    }

    #[test]
    fn stack_and_heap_associated_data_agree() {
        let name = ContextName::parse("payments").unwrap();
        for ad_len in [0, 10, 180, 400] {
            let ad = vec![7u8; ad_len];
            let heap = associated_data(&[1u8; HEADER_LEN], &name, &ad);
            with_associated_data(&[1u8; HEADER_LEN], &name, &ad, |aad| assert_eq!(aad, heap));
        }
    }

    #[test]
    fn associated_data_is_length_prefixed() {
        let a = ContextName::parse("ab").unwrap();
        let b = ContextName::parse("a").unwrap();
        assert_ne!(
            associated_data(b"h", &a, b"c"),
            associated_data(b"h", &b, b"bc")
        );
    }
}
