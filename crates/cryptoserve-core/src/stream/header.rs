//! The file header: what a reader needs before it has the data key (the wrapped key and the
//! context it was wrapped under), and what the payload keys are derived from.
//!
//! A writer builds a [`FileHeader`]; the [`Encoder`](super::Encoder) writes it, followed by
//! its MAC. A reader first asks [`header_len`] how long the header is (from the first
//! [`PREFIX_LEN`] bytes), then parses it into an [`UnverifiedHeader`], whose fields are only
//! trustworthy once a [`Decoder`](super::Decoder) has verified its MAC with the data key.

use ring::rand::{SecureRandom, SystemRandom};

use crate::algorithm::Algorithm;
use crate::context::ContextName;
use crate::error::{CoreError, Result};

/// The first four bytes of every encrypted file ("CryptoServe File Encryption").
pub const MAGIC: [u8; 4] = *b"CSFE";
/// The only format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// How many bytes [`header_len`] needs: magic, version, algorithm and the header length.
pub const PREFIX_LEN: usize = 8;
/// Length of the random per-file salt.
pub const SALT_LEN: usize = 32;
/// Length of the header MAC (HMAC-SHA256) that ends the header.
pub const MAC_LEN: usize = 32;
/// Longest wrapped-key text a header may carry. A wrapped 512-bit data key in `cs1:` or
/// `vault:` form is about 210 characters; the rest is headroom for future envelope versions.
pub const MAX_WRAPPED_KEY_LEN: usize = 2048;
/// Header length with an empty wrapped key and no context: every fixed-size field.
const FIXED_LEN: usize = PREFIX_LEN + 4 + SALT_LEN + 2 + 1 + MAC_LEN;
/// Longest possible header.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + MAX_WRAPPED_KEY_LEN + ContextName::MAX_LEN;

/// Plaintext bytes per chunk (every chunk but the last holds exactly this many).
///
/// Bounded below so the 32-bit chunk counter covers at least 16 TiB, and above so a reader
/// never buffers more than 16 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkSize(u32);

impl ChunkSize {
    /// Smallest allowed chunk size: 4 KiB.
    pub const MIN: u32 = 4 * 1024;
    /// Largest allowed chunk size: 16 MiB.
    pub const MAX: u32 = 16 * 1024 * 1024;
    /// The default, 64 KiB: large enough that the 16-byte tag costs 0.02 %, small enough to
    /// stay in cache.
    pub const DEFAULT: ChunkSize = ChunkSize(64 * 1024);

    /// Accepts a size in bytes within [`Self::MIN`]..=[`Self::MAX`].
    pub fn new(bytes: u32) -> Result<Self> {
        if (Self::MIN..=Self::MAX).contains(&bytes) {
            Ok(Self(bytes))
        } else {
            Err(CoreError::InvalidFileParameters {
                reason: "chunk size must be between 4 KiB and 16 MiB",
            })
        }
    }

    /// The size in bytes.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The size as a buffer length (a `u32` always fits a `usize` on the platforms we build).
    pub(super) fn bytes(self) -> usize {
        self.0 as usize
    }
}

impl Default for ChunkSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The header fields a writer chooses. Everything here is public information: the wrapped key
/// is ciphertext, the salt is random.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    algorithm: Algorithm,
    chunk_size: ChunkSize,
    salt: [u8; SALT_LEN],
    wrapped_key: String,
    context: Option<ContextName>,
}

impl FileHeader {
    /// A header for a new file, with a fresh random salt. `wrapped_key` is the data key's
    /// wrapped text exactly as the `datakey` endpoint returned it (1 to 2048 printable ASCII
    /// characters); `context` is the context it was wrapped under, recorded so the reader
    /// knows where to unwrap it.
    pub fn new(
        algorithm: Algorithm,
        chunk_size: ChunkSize,
        wrapped_key: &str,
        context: Option<ContextName>,
    ) -> Result<Self> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| CoreError::RandomFailure)?;
        Self::with_salt(algorithm, chunk_size, salt, wrapped_key, context)
    }

    /// A header with a caller-chosen salt. Crate-private: reusing a salt with the same data
    /// key and header would reuse every nonce, so only the test vectors may choose it.
    pub(crate) fn with_salt(
        algorithm: Algorithm,
        chunk_size: ChunkSize,
        salt: [u8; SALT_LEN],
        wrapped_key: &str,
        context: Option<ContextName>,
    ) -> Result<Self> {
        if !wrapped_key_is_valid(wrapped_key.as_bytes()) {
            return Err(CoreError::InvalidFileParameters {
                reason: "the wrapped key must be 1 to 2048 printable ASCII characters",
            });
        }
        Ok(Self {
            algorithm,
            chunk_size,
            salt,
            wrapped_key: wrapped_key.to_owned(),
            context,
        })
    }

    /// The AEAD that seals the chunks.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> ChunkSize {
        self.chunk_size
    }

    /// The random per-file salt of the key derivation.
    pub fn salt(&self) -> &[u8; SALT_LEN] {
        &self.salt
    }

    /// The wrapped data key text (`cs1:v<N>:…`), to be unwrapped by the server.
    pub fn wrapped_key(&self) -> &str {
        &self.wrapped_key
    }

    /// The context the data key was wrapped under, if the writer recorded it.
    pub fn context(&self) -> Option<&ContextName> {
        self.context.as_ref()
    }

    /// Length of the encoded header, MAC included.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN + self.wrapped_key.len() + self.context.as_ref().map_or(0, |c| c.as_str().len())
    }

    /// The header bytes the MAC covers: everything but the MAC itself.
    pub(super) fn encode_body(&self) -> Vec<u8> {
        let context = self.context.as_ref().map_or("", |c| c.as_str());
        let total = self.encoded_len();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.algorithm.id());
        // Bounded by MAX_HEADER_LEN (2191), wrapped key by 2048 and context by 64: the casts
        // below cannot truncate.
        out.extend_from_slice(&(total as u16).to_be_bytes());
        out.extend_from_slice(&self.chunk_size.get().to_be_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&(self.wrapped_key.len() as u16).to_be_bytes());
        out.extend_from_slice(self.wrapped_key.as_bytes());
        out.push(context.len() as u8);
        out.extend_from_slice(context.as_bytes());
        out
    }
}

fn wrapped_key_is_valid(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.len() <= MAX_WRAPPED_KEY_LEN
        && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// Reads the total header length from the first [`PREFIX_LEN`] bytes of a file (more may be
/// passed), after checking the magic and the format version. A reader calls this, reads that
/// many bytes from the start of the file, and hands them to [`UnverifiedHeader::parse`].
pub fn header_len(prefix: &[u8]) -> Result<usize> {
    let Some(prefix) = prefix.get(..PREFIX_LEN) else {
        // A non-empty prefix of the magic is a cut-off file; anything else is not ours.
        let shared = prefix.len().min(MAGIC.len());
        return if !prefix.is_empty() && prefix[..shared] == MAGIC[..shared] {
            Err(CoreError::FileTruncated)
        } else {
            Err(CoreError::NotAnEncryptedFile)
        };
    };
    if prefix[..4] != MAGIC {
        return Err(CoreError::NotAnEncryptedFile);
    }
    if prefix[4] != FORMAT_VERSION {
        return Err(CoreError::UnsupportedFileVersion { version: prefix[4] });
    }
    let len = usize::from(u16::from_be_bytes([prefix[6], prefix[7]]));
    if !(FIXED_LEN + 1..=MAX_HEADER_LEN).contains(&len) {
        return Err(corrupt("header length out of range"));
    }
    Ok(len)
}

/// A header as read from a file. Its fields are not authenticated yet: use them only to find
/// the data key, then let [`Decoder::new`](super::Decoder::new) verify the MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedHeader {
    header: FileHeader,
    body: Vec<u8>,
    mac: [u8; MAC_LEN],
}

impl UnverifiedHeader {
    /// Parses the header at the start of `bytes` (which may continue into the chunks; exactly
    /// [`Self::encoded_len`] bytes are read). Strict: every length must match, the algorithm
    /// must be known, the chunk size in range, the context a valid name.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let len = header_len(bytes)?;
        let Some(header) = bytes.get(..len) else {
            return Err(CoreError::FileTruncated);
        };
        let algorithm =
            Algorithm::from_id(header[5]).ok_or_else(|| corrupt("unknown algorithm id"))?;
        let chunk_size = ChunkSize::new(u32::from_be_bytes([
            header[8], header[9], header[10], header[11],
        ]))
        .map_err(|_| corrupt("chunk size out of range"))?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&header[12..12 + SALT_LEN]);

        let mut rest = &header[12 + SALT_LEN..];
        let wrapped_len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let wrapped = take(&mut rest, wrapped_len)?;
        if !wrapped_key_is_valid(wrapped) {
            return Err(corrupt(
                "wrapped key is not 1 to 2048 printable ASCII characters",
            ));
        }
        let context_len = usize::from(*take(&mut rest, 1)?.first().unwrap_or(&0));
        let context = take(&mut rest, context_len)?;
        if rest.len() != MAC_LEN {
            return Err(corrupt("header length does not match its fields"));
        }
        let context = if context.is_empty() {
            None
        } else {
            let text = std::str::from_utf8(context).map_err(|_| corrupt("invalid context"))?;
            Some(ContextName::parse(text).map_err(|_| corrupt("invalid context name"))?)
        };
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(rest);
        Ok(Self {
            header: FileHeader {
                algorithm,
                chunk_size,
                salt,
                // Checked to be printable ASCII above, so this is valid UTF-8.
                wrapped_key: String::from_utf8_lossy(wrapped).into_owned(),
                context,
            },
            body: header[..len - MAC_LEN].to_vec(),
            mac,
        })
    }

    /// The header's fields (unauthenticated until a [`Decoder`](super::Decoder) accepts it).
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// How many bytes of the file the header occupies; the chunks start right after.
    pub fn encoded_len(&self) -> usize {
        self.body.len() + MAC_LEN
    }

    pub(super) fn body(&self) -> &[u8] {
        &self.body
    }

    pub(super) fn mac(&self) -> &[u8; MAC_LEN] {
        &self.mac
    }
}

/// Splits `len` bytes off the front of `rest`, or reports the header as inconsistent.
fn take<'a>(rest: &mut &'a [u8], len: usize) -> Result<&'a [u8]> {
    if rest.len() < len {
        return Err(corrupt("header length does not match its fields"));
    }
    let (field, tail) = rest.split_at(len);
    *rest = tail;
    Ok(field)
}

fn corrupt(reason: &'static str) -> CoreError {
    CoreError::FileCorrupt { reason }
}
