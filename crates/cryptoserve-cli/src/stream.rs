//! The file format driven over `Read` and `Write`: the header read from the front of a file,
//! and whole files pushed through `cryptoserve_core::stream`'s encoder and decoder in
//! [`READ_SIZE`] pieces, so memory stays at about two reads plus one chunk whatever the
//! file size. No network here: the data key comes in as bytes.

use std::io::{Read, Write};

use cryptoserve_core::stream::{header_len, Decoder, Encoder, UnverifiedHeader, PREFIX_LEN};
use cryptoserve_core::CoreError;
use zeroize::Zeroizing;

use crate::error::{CliError, Result};

/// Bytes read from the input at a time.
pub const READ_SIZE: usize = 1024 * 1024;

/// Reads and parses the header at the start of `input`, consuming exactly its bytes. The
/// fields are not authenticated yet: use them to find the data key, then let
/// [`Decoder::new`] check the header MAC.
pub fn read_header(input: &mut impl Read) -> Result<UnverifiedHeader> {
    let mut prefix = [0u8; PREFIX_LEN];
    let got = read_up_to(input, &mut prefix)?;
    let len = header_len(&prefix[..got])?;
    // header_len bounds `len` to the format's maximum (about 2 KiB) and above the prefix.
    let mut header = vec![0u8; len];
    header[..PREFIX_LEN].copy_from_slice(&prefix);
    let got = read_up_to(input, &mut header[PREFIX_LEN..])?;
    if PREFIX_LEN + got < len {
        return Err(CoreError::FileTruncated.into());
    }
    Ok(UnverifiedHeader::parse(&header)?)
}

/// Encrypts all of `input` into `output`, header first; returns the plaintext length.
/// `progress` is told the plaintext bytes read so far.
pub fn encrypt(
    mut encoder: Encoder,
    input: &mut impl Read,
    output: &mut impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let mut plaintext = Zeroizing::new(vec![0u8; READ_SIZE]);
    let mut file_bytes = Vec::with_capacity(2 * READ_SIZE);
    let mut total = 0u64;
    loop {
        let read = read_up_to(input, &mut plaintext)?;
        if read == 0 {
            break;
        }
        file_bytes.clear();
        encoder.push_into(&plaintext[..read], &mut file_bytes)?;
        put(output, &file_bytes)?;
        total += read as u64;
        progress(total);
    }
    file_bytes.clear();
    encoder.finish_into(&mut file_bytes)?;
    put(output, &file_bytes)?;
    Ok(total)
}

/// Decrypts the chunks after the header from `input` into `output`; returns the plaintext
/// length. Plaintext reaches `output` chunk by chunk, each chunk authenticated, but the file
/// is intact only when this returns `Ok`. `progress` is told the file bytes read so far.
pub fn decrypt(
    mut decoder: Decoder,
    input: &mut impl Read,
    output: &mut impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let mut file_bytes = vec![0u8; READ_SIZE];
    // Plaintext passes through here: zeroized when dropped, and reserved up front (a read
    // plus one chunk, at most 16 MiB) so that growing it rarely leaves copies behind.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(2 * READ_SIZE));
    let mut total = 0u64;
    let mut read_so_far = 0u64;
    loop {
        let read = read_up_to(input, &mut file_bytes)?;
        if read == 0 {
            break;
        }
        read_so_far += read as u64;
        plaintext.clear();
        decoder.push_into(&file_bytes[..read], &mut plaintext)?;
        put(output, &plaintext)?;
        total += plaintext.len() as u64;
        progress(read_so_far);
    }
    plaintext.clear();
    decoder.finish_into(&mut plaintext)?;
    put(output, &plaintext)?;
    total += plaintext.len() as u64;
    Ok(total)
}

fn put(output: &mut impl Write, bytes: &[u8]) -> Result<()> {
    output
        .write_all(bytes)
        .map_err(CliError::io("writing the output"))
}

/// Reads until `buffer` is full or the input ends; returns how many bytes were read. Full
/// reads keep the encoder's work in large pieces even from a pipe.
fn read_up_to(input: &mut impl Read, buffer: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(CliError::io("reading the input")(error)),
        }
    }
    Ok(filled)
}
