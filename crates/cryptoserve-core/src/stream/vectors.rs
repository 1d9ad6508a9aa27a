//! Committed file-format test vectors: fixed data key, salt, header fields and plaintext →
//! exact file bytes.
//!
//! `docs/file-format-vectors.json` pins format version 1. If this test fails, the format
//! changed: never acceptable for version 1 (add a version instead). Regenerate only when
//! adding vectors: `cargo test -p cryptoserve-core print_file_vectors -- --ignored --nocapture`.

use serde::{Deserialize, Serialize};

use super::*;
use crate::{Algorithm, ContextName, CoreError};

#[derive(Debug, Serialize, Deserialize)]
struct Vector {
    description: String,
    data_key: String,
    salt: String,
    algorithm: String,
    chunk_size: u32,
    wrapped_key: String,
    /// Empty when the header records no context.
    context: String,
    plaintext: String,
    header_len: usize,
    file: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct VectorFile {
    format: String,
    vectors: Vec<Vector>,
}

const FILE: &str = include_str!("../../../../docs/file-format-vectors.json");

fn header_for(v: &Vector) -> FileHeader {
    let salt = hex::decode(&v.salt).unwrap().try_into().unwrap();
    let context = (!v.context.is_empty()).then(|| ContextName::parse(&v.context).unwrap());
    FileHeader::with_salt(
        v.algorithm.parse().unwrap(),
        ChunkSize::new(v.chunk_size).unwrap(),
        salt,
        &v.wrapped_key,
        context,
    )
    .unwrap()
}

fn encrypt(data_key: &[u8], header: &FileHeader, plaintext: &[u8]) -> Vec<u8> {
    let mut encoder = Encoder::new(data_key, header).unwrap();
    let mut file = encoder.push(plaintext).unwrap();
    file.extend(encoder.finish().unwrap());
    file
}

#[test]
fn committed_file_vectors_reproduce_exactly() {
    let file: VectorFile = serde_json::from_str(FILE).unwrap();
    assert_eq!(file.format, "cryptoserve encrypted file v1");
    assert!(file.vectors.len() >= 5);
    for v in &file.vectors {
        let data_key = hex::decode(&v.data_key).unwrap();
        let plaintext = hex::decode(&v.plaintext).unwrap();
        let header = header_for(v);
        let bytes = encrypt(&data_key, &header, &plaintext);
        assert_eq!(hex::encode(&bytes), v.file, "{}", v.description);

        // Pushing one byte at a time gives the same bytes.
        let mut encoder = Encoder::new(&data_key, &header).unwrap();
        let mut bytewise = Vec::new();
        for byte in &plaintext {
            encoder
                .push_into(std::slice::from_ref(byte), &mut bytewise)
                .unwrap();
        }
        encoder.finish_into(&mut bytewise).unwrap();
        assert_eq!(bytewise, bytes, "{}", v.description);

        // And the file reads back, with the recorded fields.
        assert_eq!(header_len(&bytes).unwrap(), v.header_len);
        let found = UnverifiedHeader::parse(&bytes).unwrap();
        assert_eq!(found.header(), &header);
        assert_eq!(found.encoded_len(), v.header_len);
        let mut decoder = Decoder::new(&data_key, &found).unwrap();
        let mut opened = decoder.push(&bytes[v.header_len..]).unwrap();
        opened.extend(decoder.finish().unwrap());
        assert_eq!(opened, plaintext, "{}", v.description);
    }
}

#[test]
fn another_data_key_fails_the_header_mac_of_every_vector() {
    let file: VectorFile = serde_json::from_str(FILE).unwrap();
    for v in &file.vectors {
        let bytes = hex::decode(&v.file).unwrap();
        let found = UnverifiedHeader::parse(&bytes).unwrap();
        assert_eq!(
            Decoder::new(&[0xEE; 32], &found).unwrap_err(),
            CoreError::FileHeaderAuthenticationFailed
        );
    }
}

/// description, algorithm, chunk size, context, data key length, plaintext.
type Case = (&'static str, Algorithm, u32, &'static str, usize, Vec<u8>);

#[test]
#[ignore = "generator for the committed vectors; run by hand when adding vectors"]
fn print_file_vectors() {
    let pattern = |len: usize| (0..len).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>();
    let cases: Vec<Case> = vec![
        (
            "AES-256-GCM, empty file (one empty final chunk), context recorded",
            Algorithm::Aes256Gcm,
            65536,
            "payments",
            32,
            Vec::new(),
        ),
        (
            "AES-256-GCM, short file, no context",
            Algorithm::Aes256Gcm,
            65536,
            "",
            32,
            b"hello, world".to_vec(),
        ),
        (
            "ChaCha20-Poly1305, 512-bit data key",
            Algorithm::ChaCha20Poly1305,
            65536,
            "user-pii",
            64,
            b"The quick brown fox jumps over the lazy dog".to_vec(),
        ),
        (
            "AES-256-GCM, 4 KiB chunks, exactly one full chunk (the final chunk is full)",
            Algorithm::Aes256Gcm,
            4096,
            "payments",
            32,
            pattern(4096),
        ),
        (
            "ChaCha20-Poly1305, 4 KiB chunks, two full chunks and a 100-byte final chunk",
            Algorithm::ChaCha20Poly1305,
            4096,
            "backups",
            32,
            pattern(2 * 4096 + 100),
        ),
    ];
    let vectors = cases
        .into_iter()
        .enumerate()
        .map(
            |(n, (description, algorithm, chunk_size, context, key_len, plaintext))| {
                let data_key: Vec<u8> = (0..key_len).map(|i| i as u8).collect();
                let salt = [0x11 * (n as u8 + 1); 32];
                let wrapped_key = format!("cs1:v{}:wrapped-data-key-{}", n + 1, n + 1);
                let context = (!context.is_empty()).then(|| ContextName::parse(context).unwrap());
                let header = FileHeader::with_salt(
                    algorithm,
                    ChunkSize::new(chunk_size).unwrap(),
                    salt,
                    &wrapped_key,
                    context.clone(),
                )
                .unwrap();
                Vector {
                    description: description.to_string(),
                    data_key: hex::encode(&data_key),
                    salt: hex::encode(salt),
                    algorithm: algorithm.name().to_string(),
                    chunk_size,
                    wrapped_key,
                    context: context.map_or(String::new(), |c| c.as_str().to_string()),
                    plaintext: hex::encode(&plaintext),
                    header_len: header.encoded_len(),
                    file: hex::encode(encrypt(&data_key, &header, &plaintext)),
                }
            },
        )
        .collect();
    let file = VectorFile {
        format: "cryptoserve encrypted file v1".to_string(),
        vectors,
    };
    println!("{}", serde_json::to_string_pretty(&file).unwrap());
}
