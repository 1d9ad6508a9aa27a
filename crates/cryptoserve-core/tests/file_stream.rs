//! Streaming file encryption through the public API: round trips at every size around the
//! chunk boundary with pushes of random sizes, and each attack the format exists to stop:
//! tampering, truncation, reordering, chunks or headers from another file, trailing data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptoserve_core::stream::{
    header_len, ChunkSize, Decoder, Encoder, FileHeader, UnverifiedHeader, PREFIX_LEN,
};
use cryptoserve_core::{Algorithm, ContextName, CoreError};
use proptest::prelude::*;

const KEY: [u8; 32] = [0x42; 32];
const SMALL: u32 = ChunkSize::MIN;
const CHUNK: usize = SMALL as usize;
/// Ciphertext length of a full chunk.
const FULL: usize = CHUNK + 16;

fn header(algorithm: Algorithm, chunk_size: u32) -> FileHeader {
    FileHeader::new(
        algorithm,
        ChunkSize::new(chunk_size).unwrap(),
        "cs1:v1:Q1MBAXoe5i3YRZbH",
        Some(ContextName::parse("payments").unwrap()),
    )
    .unwrap()
}

fn encrypt_in_pieces(key: &[u8], header: &FileHeader, plaintext: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut encoder = Encoder::new(key, header).unwrap();
    let mut file = Vec::new();
    let mut rest = plaintext;
    for &cut in cuts {
        let (piece, tail) = rest.split_at(cut.min(rest.len()));
        encoder.push_into(piece, &mut file).unwrap();
        rest = tail;
    }
    encoder.push_into(rest, &mut file).unwrap();
    encoder.finish_into(&mut file).unwrap();
    file
}

fn encrypt(key: &[u8], header: &FileHeader, plaintext: &[u8]) -> Vec<u8> {
    encrypt_in_pieces(key, header, plaintext, &[])
}

/// Decrypts a whole file the way a CLI would: header length from the prefix, header, then the
/// rest pushed in pieces of the given sizes (cycled).
fn decrypt_in_pieces(key: &[u8], file: &[u8], piece_sizes: &[usize]) -> Result<Vec<u8>, CoreError> {
    let len = header_len(file)?;
    let found = UnverifiedHeader::parse(file)?;
    assert_eq!(found.encoded_len(), len);
    let mut decoder = Decoder::new(key, &found)?;
    let mut plaintext = Vec::new();
    let mut rest = &file[len..];
    let mut sizes = piece_sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        decoder.push_into(piece, &mut plaintext)?;
        rest = tail;
    }
    decoder.finish_into(&mut plaintext)?;
    Ok(plaintext)
}

fn decrypt(key: &[u8], file: &[u8]) -> Result<Vec<u8>, CoreError> {
    decrypt_in_pieces(key, file, &[])
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

/// A 3-chunk file (two full, one short final) with its header length.
fn three_chunks() -> (FileHeader, Vec<u8>, Vec<u8>, usize) {
    let header = header(Algorithm::Aes256Gcm, SMALL);
    let plaintext = pattern(2 * CHUNK + 500);
    let file = encrypt(&KEY, &header, &plaintext);
    let len = header.encoded_len();
    (header, plaintext, file, len)
}

#[test]
fn round_trips_every_size_around_the_chunk_boundary_with_uneven_pushes() {
    for algorithm in Algorithm::ALL {
        let header = header(algorithm, SMALL);
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17] {
            let plaintext = pattern(size);
            for cuts in [
                &[][..],
                &[1, 4095, 3][..],
                &[CHUNK, CHUNK][..],
                &[7; 40][..],
            ] {
                let file = encrypt_in_pieces(&KEY, &header, &plaintext, cuts);
                let chunks = size / CHUNK + 1 - usize::from(size > 0 && size % CHUNK == 0);
                assert_eq!(file.len(), header.encoded_len() + size + 16 * chunks);
                for pieces in [
                    &[][..],
                    &[1][..],
                    &[FULL][..],
                    &[FULL + 1, 3][..],
                    &[100, 5000][..],
                ] {
                    assert_eq!(
                        decrypt_in_pieces(&KEY, &file, pieces).unwrap(),
                        plaintext,
                        "{algorithm} size {size} cuts {cuts:?} pieces {pieces:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_default_sized_multi_chunk_file_round_trips() {
    let header = header(Algorithm::Aes256Gcm, ChunkSize::DEFAULT.get());
    let plaintext = pattern(3 * 65536 + 1000);
    let file = encrypt_in_pieces(&KEY, &header, &plaintext, &[65536, 1, 100_000]);
    assert_eq!(decrypt_in_pieces(&KEY, &file, &[65536]).unwrap(), plaintext);
}

#[test]
fn the_same_data_key_never_gives_the_same_bytes_twice() {
    let a = encrypt(&KEY, &header(Algorithm::Aes256Gcm, SMALL), b"same");
    let b = encrypt(&KEY, &header(Algorithm::Aes256Gcm, SMALL), b"same");
    assert_ne!(a, b);
}

#[test]
fn every_flipped_bit_of_the_header_is_refused() {
    let header = header(Algorithm::ChaCha20Poly1305, SMALL);
    let file = encrypt(&KEY, &header, b"secret");
    for byte in 0..header.encoded_len() {
        for bit in 0..8 {
            let mut tampered = file.clone();
            tampered[byte] ^= 1 << bit;
            let error = decrypt(&KEY, &tampered).unwrap_err();
            assert!(
                matches!(
                    error,
                    CoreError::NotAnEncryptedFile
                        | CoreError::UnsupportedFileVersion { .. }
                        | CoreError::FileCorrupt { .. }
                        | CoreError::FileTruncated
                        | CoreError::FileHeaderAuthenticationFailed
                ),
                "byte {byte} bit {bit}: {error:?}"
            );
        }
    }
    // Flips in the salt, wrapped key or MAC leave a well-formed header whose MAC fails.
    let mut tampered = file.clone();
    tampered[20] ^= 1;
    assert_eq!(
        decrypt(&KEY, &tampered).unwrap_err(),
        CoreError::FileHeaderAuthenticationFailed
    );
}

#[test]
fn a_flipped_byte_in_any_chunk_names_that_chunk() {
    let (_, _, file, len) = three_chunks();
    for (position, chunk) in [
        (len, 0),
        (len + FULL - 1, 0),
        (len + FULL + 5, 1),
        (file.len() - 1, 2),
    ] {
        let mut tampered = file.clone();
        tampered[position] ^= 0x80;
        assert_eq!(
            decrypt(&KEY, &tampered).unwrap_err(),
            CoreError::FileChunkAuthenticationFailed { chunk }
        );
    }
}

#[test]
fn truncation_at_a_chunk_boundary_or_inside_a_chunk_is_refused() {
    let (_, _, file, len) = three_chunks();
    // At boundaries: only the header, after chunk 0, after chunk 1.
    for end in [len, len + FULL, len + 2 * FULL] {
        assert_eq!(
            decrypt(&KEY, &file[..end]).unwrap_err(),
            CoreError::FileTruncated,
            "end {end}"
        );
    }
    // Less than a tag after a boundary.
    assert_eq!(
        decrypt(&KEY, &file[..len + FULL + 15]).unwrap_err(),
        CoreError::FileTruncated
    );
    // Inside a chunk: the cut chunk cannot authenticate.
    assert_eq!(
        decrypt(&KEY, &file[..len + FULL + 100]).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 1 }
    );
    assert_eq!(
        decrypt(&KEY, &file[..file.len() - 1]).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 2 }
    );
    // Inside the header, and an empty input.
    assert_eq!(
        decrypt(&KEY, &file[..len - 1]).unwrap_err(),
        CoreError::FileTruncated
    );
    assert_eq!(
        decrypt(&KEY, &file[..3]).unwrap_err(),
        CoreError::FileTruncated
    );
    assert_eq!(
        decrypt(&KEY, b"").unwrap_err(),
        CoreError::NotAnEncryptedFile
    );
}

#[test]
fn swapped_or_duplicated_chunks_are_refused() {
    let (_, _, file, len) = three_chunks();
    let chunk = |i: usize| &file[len + i * FULL..len + (i + 1) * FULL];
    let mut swapped = file[..len].to_vec();
    swapped.extend_from_slice(chunk(1));
    swapped.extend_from_slice(chunk(0));
    swapped.extend_from_slice(&file[len + 2 * FULL..]);
    assert_eq!(
        decrypt(&KEY, &swapped).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 0 }
    );
    let mut duplicated = file[..len + FULL].to_vec();
    duplicated.extend_from_slice(chunk(0));
    duplicated.extend_from_slice(&file[len + FULL..]);
    assert_eq!(
        decrypt(&KEY, &duplicated).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 1 }
    );
    // A full-size final chunk is valid only as the final chunk and only at its own index:
    // moved forward it fails there, repeated after itself it is trailing data.
    let header = header(Algorithm::Aes256Gcm, SMALL);
    let two = encrypt(&KEY, &header, &pattern(2 * CHUNK));
    let mut reordered = two[..len].to_vec();
    reordered.extend_from_slice(&two[len + FULL..]);
    reordered.extend_from_slice(&two[len..len + FULL]);
    assert_eq!(
        decrypt(&KEY, &reordered).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 0 }
    );
    let mut repeated = two.clone();
    repeated.extend_from_slice(&two[len + FULL..]);
    assert_eq!(
        decrypt(&KEY, &repeated).unwrap_err(),
        CoreError::FileTrailingData
    );
}

#[test]
fn a_chunk_or_a_header_from_another_file_under_the_same_data_key_is_refused() {
    let (_, _, file, len) = three_chunks();
    let (_, _, other, other_len) = three_chunks();
    // Chunk 1 of the other file, at the same position.
    let mut mixed = file.clone();
    mixed[len + FULL..len + 2 * FULL]
        .copy_from_slice(&other[other_len + FULL..other_len + 2 * FULL]);
    assert_eq!(
        decrypt(&KEY, &mixed).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 1 }
    );
    // The other file's (valid) header in front of this file's chunks.
    let mut transplanted = other[..other_len].to_vec();
    transplanted.extend_from_slice(&file[len..]);
    assert_eq!(
        decrypt(&KEY, &transplanted).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 0 }
    );
}

#[test]
fn a_wrong_data_key_fails_at_the_header() {
    let (_, _, file, _) = three_chunks();
    assert_eq!(
        decrypt(&[0x43; 32], &file).unwrap_err(),
        CoreError::FileHeaderAuthenticationFailed
    );
    let found = UnverifiedHeader::parse(&file).unwrap();
    assert_eq!(
        Decoder::new(&[0x42; 16], &found).unwrap_err(),
        CoreError::InvalidFileParameters {
            reason: "the data key must be 256 or 512 bits"
        }
    );
}

#[test]
fn bytes_after_the_final_chunk_are_refused() {
    // After a full final chunk the format can say exactly what happened.
    let header = header(Algorithm::Aes256Gcm, SMALL);
    let mut file = encrypt(&KEY, &header, &pattern(CHUNK));
    file.push(0);
    assert_eq!(
        decrypt(&KEY, &file).unwrap_err(),
        CoreError::FileTrailingData
    );
    // After a short final chunk, the extra bytes spoil its tag.
    let (_, _, mut file, _) = three_chunks();
    file.extend_from_slice(b"junk");
    assert_eq!(
        decrypt(&KEY, &file).unwrap_err(),
        CoreError::FileChunkAuthenticationFailed { chunk: 2 }
    );
    // A whole second file appended.
    let (_, _, mut file, _) = three_chunks();
    let copy = file.clone();
    file.extend_from_slice(&copy);
    assert!(decrypt(&KEY, &file).is_err());
}

#[test]
fn a_decoder_refuses_everything_after_its_first_error() {
    let (_, _, mut file, len) = three_chunks();
    file[len] ^= 1;
    let found = UnverifiedHeader::parse(&file).unwrap();
    let mut decoder = Decoder::new(&KEY, &found).unwrap();
    let error = CoreError::FileChunkAuthenticationFailed { chunk: 0 };
    assert_eq!(decoder.push(&file[len..len + FULL + 1]).unwrap_err(), error);
    assert_eq!(decoder.push(&file[len + FULL + 1..]).unwrap_err(), error);
    assert_eq!(decoder.finish().unwrap_err(), error);
}

#[test]
fn the_header_reports_its_fields_and_length() {
    let header = header(Algorithm::ChaCha20Poly1305, SMALL);
    let file = encrypt(&KEY, &header, b"");
    assert_eq!(
        header_len(&file[..PREFIX_LEN]).unwrap(),
        header.encoded_len()
    );
    assert_eq!(
        header_len(&file[..PREFIX_LEN - 1]).unwrap_err(),
        CoreError::FileTruncated
    );
    let found = UnverifiedHeader::parse(&file).unwrap();
    assert_eq!(found.header(), &header);
    assert_eq!(found.header().context().unwrap().as_str(), "payments");
    assert_eq!(found.header().chunk_size().get(), SMALL);
    assert_eq!(file.len(), header.encoded_len() + 16);

    assert_eq!(
        header_len(b"%PDF-1.7\n").unwrap_err(),
        CoreError::NotAnEncryptedFile
    );
    let mut newer = file.clone();
    newer[4] = 2;
    assert_eq!(
        header_len(&newer).unwrap_err(),
        CoreError::UnsupportedFileVersion { version: 2 }
    );
}

#[test]
fn bad_parameters_are_refused_up_front() {
    for size in [0, ChunkSize::MIN - 1, ChunkSize::MAX + 1, u32::MAX] {
        assert!(matches!(
            ChunkSize::new(size),
            Err(CoreError::InvalidFileParameters { .. })
        ));
    }
    for wrapped in ["", "has space", "tab\t", "é", &"x".repeat(2049)] {
        assert!(matches!(
            FileHeader::new(Algorithm::Aes256Gcm, ChunkSize::DEFAULT, wrapped, None),
            Err(CoreError::InvalidFileParameters { .. })
        ));
    }
    let header = header(Algorithm::Aes256Gcm, SMALL);
    assert!(Encoder::new(&[1; 31], &header).is_err());
    assert!(Encoder::new(&[1; 64], &header).is_ok());
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let header = header(Algorithm::Aes256Gcm, SMALL);
    let encoder = Encoder::new(&KEY, &header).unwrap();
    let text = format!("{encoder:?}");
    assert!(text.contains("[redacted]"), "{text}");
    let file = encrypt(&KEY, &header, b"x");
    let decoder = Decoder::new(&KEY, &UnverifiedHeader::parse(&file).unwrap()).unwrap();
    assert!(format!("{decoder:?}").contains("[redacted]"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_plaintext_and_partitions_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..3 * CHUNK + 50),
        cuts in proptest::collection::vec(0usize..2 * FULL, 0..8),
        pieces in proptest::collection::vec(1usize..2 * FULL, 0..8),
        chacha in any::<bool>(),
    ) {
        let algorithm = if chacha { Algorithm::ChaCha20Poly1305 } else { Algorithm::Aes256Gcm };
        let header = header(algorithm, SMALL);
        let file = encrypt_in_pieces(&KEY, &header, &plaintext, &cuts);
        prop_assert_eq!(decrypt_in_pieces(&KEY, &file, &pieces).unwrap(), plaintext);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = header_len(&bytes);
        let _ = UnverifiedHeader::parse(&bytes);
        prop_assert!(decrypt(&KEY, &bytes).is_err());
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic_and_are_refused(
        body in proptest::collection::vec(any::<u8>(), 0..2 * FULL + 40),
        pieces in proptest::collection::vec(1usize..FULL + 40, 0..6),
    ) {
        let header = header(Algorithm::Aes256Gcm, SMALL);
        let mut file = encrypt(&KEY, &header, b"");
        file.truncate(header.encoded_len());
        file.extend_from_slice(&body);
        prop_assert!(decrypt_in_pieces(&KEY, &file, &pieces).is_err());
    }

    #[test]
    fn mutated_header_fields_never_panic(
        position in 0usize..120,
        value in any::<u8>(),
        cut in 0usize..200,
    ) {
        let header = header(Algorithm::ChaCha20Poly1305, SMALL);
        let mut file = encrypt(&KEY, &header, b"hello");
        let position = position % file.len();
        file[position] = value;
        file.truncate(cut.min(file.len()));
        let _ = decrypt(&KEY, &file);
    }
}
