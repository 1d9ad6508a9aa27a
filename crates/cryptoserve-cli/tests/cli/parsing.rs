//! Arbitrary bytes through `decrypt-file`'s reading path, in-process: the header reader and
//! the chunk decoder refuse or accept, and never panic.

use cryptoserve_cli::stream::{decrypt, read_header};
use cryptoserve_core::stream::{ChunkSize, Decoder, Encoder, FileHeader};
use cryptoserve_core::Algorithm;
use proptest::prelude::*;

const KEY: [u8; 32] = [7u8; 32];

/// A small valid file (4 KiB chunks) to mutate.
fn valid_file() -> Vec<u8> {
    let chunk_size = ChunkSize::new(4096).unwrap();
    let header = FileHeader::new(Algorithm::Aes256Gcm, chunk_size, "cs1:v1:Q1MBAQ", None).unwrap();
    let mut encoder = Encoder::new(&KEY, &header).unwrap();
    let mut file = encoder.push(&vec![0x5a; 10_000]).unwrap();
    file.extend(encoder.finish().unwrap());
    file
}

/// Reads a header, then decrypts the rest with the test key: the whole `decrypt-file` path
/// after the server call.
fn read_whole(file: &[u8]) -> Result<Vec<u8>, cryptoserve_cli::CliError> {
    let mut input = file;
    let header = read_header(&mut input)?;
    let decoder = Decoder::new(&KEY, &header)?;
    let mut out = Vec::new();
    decrypt(decoder, &mut input, &mut out, &mut |_| {})?;
    Ok(out)
}

#[test]
fn the_valid_file_reads_back() {
    assert_eq!(read_whole(&valid_file()).unwrap(), vec![0x5a; 10_000]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read_whole(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_prefix_never_panic(
        cut in 0usize..256,
        tail in proptest::collection::vec(any::<u8>(), 0..9000),
    ) {
        // A real magic, version and plausible lengths, then anything.
        let mut file = valid_file();
        file.truncate(cut.min(file.len()));
        file.extend_from_slice(&tail);
        let _ = read_whole(&file);
    }

    #[test]
    fn any_single_byte_change_is_refused(position in 0usize..10_300, flip in 1u8..=255) {
        let mut file = valid_file();
        let position = position % file.len();
        file[position] ^= flip;
        let error = read_whole(&file).unwrap_err();
        prop_assert!(error.exit_code() == 7, "{error}: exit code {}", error.exit_code());
    }
}
