//! `encrypt-file` / `decrypt-file`: a 200 MiB round trip in bounded memory, and every kind of
//! damage refused with exit code 7 and nothing left at `--out`.

use std::io::{Read, Write};
use std::path::Path;

use crate::support::{create_context, Server};

const MIB: usize = 1024 * 1024;

/// Writes `mib` MiB of deterministic, non-repeating bytes: one pseudo-random MiB (xorshift),
/// with each 4 KiB page of each copy stamped with its own position. Cheap even in debug.
fn generate(path: &Path, mib: usize) {
    let mut base = vec![0u8; MIB];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for word in base.chunks_exact_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        word.copy_from_slice(&state.to_le_bytes());
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = base.clone();
    for index in 0..mib as u64 {
        for (page, bytes) in block.chunks_exact_mut(4096).enumerate() {
            bytes[..8].copy_from_slice(&(index * 256 + page as u64).to_le_bytes());
        }
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

/// SHA-256 of a file, read in 1 MiB pieces (ring's assembly: fast in a debug build).
fn sha256(path: &Path) -> Vec<u8> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut file = std::fs::File::open(path).unwrap();
    let mut buffer = vec![0u8; MIB];
    loop {
        let read = file.read(&mut buffer).unwrap();
        if read == 0 {
            break;
        }
        context.update(&buffer[..read]);
    }
    context.finish().as_ref().to_vec()
}

#[test]
fn a_200_mib_file_round_trips_byte_identical_in_bounded_memory() {
    let server = Server::start();
    create_context(&server, "backups");
    let dir = server.scratch();
    let plain = dir.join("plain.bin");
    let sealed = dir.join("plain.bin.csfe");
    let opened = dir.join("plain.out");
    generate(&plain, 200);

    let started = std::time::Instant::now();
    let (run, encrypt_peak) = server
        .cs(&["encrypt-file", "--context", "backups"])
        .args(["--in".as_ref(), plain.as_os_str()])
        .args(["--out".as_ref(), sealed.as_os_str()])
        .run_measuring_peak_rss();
    let encrypt_time = started.elapsed();
    run.ok();
    let started = std::time::Instant::now();
    let (run, decrypt_peak) = server
        .cs(&["decrypt-file"])
        .args(["--in".as_ref(), sealed.as_os_str()])
        .args(["--out".as_ref(), opened.as_os_str()])
        .run_measuring_peak_rss();
    let decrypt_time = started.elapsed();
    run.ok();

    let mib = |bytes: u64| bytes as f64 / MIB as f64;
    println!(
        "200 MiB: encrypt-file {encrypt_time:?}, peak RSS {:.1} MiB; decrypt-file \
         {decrypt_time:?}, peak RSS {:.1} MiB",
        mib(encrypt_peak),
        mib(decrypt_peak)
    );
    let sealed_len = std::fs::metadata(&sealed).unwrap().len();
    assert!(sealed_len > 200 * MIB as u64, "{sealed_len}");
    assert_eq!(
        sha256(&plain),
        sha256(&opened),
        "round trip changed the bytes"
    );
    for peak in [encrypt_peak, decrypt_peak] {
        assert!(peak > 0, "VmHWM was never read");
        assert!(peak < 64 * MIB as u64, "peak RSS {:.1} MiB", mib(peak));
    }
}

/// Header length of an encrypted file (bytes 6..8, big-endian).
fn header_len(file: &[u8]) -> usize {
    usize::from(u16::from_be_bytes([file[6], file[7]]))
}

#[test]
fn damaged_reordered_truncated_and_mixed_files_are_refused_and_leave_nothing() {
    let server = Server::start();
    create_context(&server, "backups");
    let dir = server.scratch();
    // 4 KiB chunks: a 100 KiB file has 25 of them.
    let chunk = 4096 + 16;
    let encrypt = |name: &str, seed: u8| -> Vec<u8> {
        let plain = dir.join(format!("{name}.bin"));
        let bytes: Vec<u8> = (0..100 * 1024u32)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect();
        std::fs::write(&plain, &bytes).unwrap();
        let sealed = dir.join(format!("{name}.csfe"));
        server
            .cs(&["encrypt-file", "--context", "backups", "--chunk-size", "4K"])
            .args(["--in".as_ref(), plain.as_os_str()])
            .args(["--out".as_ref(), sealed.as_os_str()])
            .run()
            .ok();
        std::fs::read(&sealed).unwrap()
    };
    let original = encrypt("a", 1);
    let other = encrypt("b", 2);
    let start = header_len(&original);

    let mut flipped_chunk = original.clone();
    flipped_chunk[start + 3 * chunk + 100] ^= 0x01;
    let mut flipped_header = original.clone();
    flipped_header[20] ^= 0x01; // inside the salt
    let truncated_at_boundary = original[..start + 10 * chunk].to_vec();
    let truncated_inside = original[..original.len() - 100].to_vec();
    let mut swapped = original.clone();
    swapped[start + chunk..start + 2 * chunk]
        .copy_from_slice(&original[start + 2 * chunk..start + 3 * chunk]);
    swapped[start + 2 * chunk..start + 3 * chunk]
        .copy_from_slice(&original[start + chunk..start + 2 * chunk]);
    let mut foreign_header = other[..header_len(&other)].to_vec();
    foreign_header.extend_from_slice(&original[start..]);
    let mut appended = original.clone();
    appended.extend_from_slice(&original[start..start + chunk]);

    let cases: [(&str, Vec<u8>, &str); 7] = [
        (
            "flipped chunk byte",
            flipped_chunk,
            "chunk 3 of the encrypted file failed authentication",
        ),
        (
            "flipped header byte",
            flipped_header,
            "header authentication failed",
        ),
        (
            "cut at a chunk boundary",
            truncated_at_boundary,
            "truncated",
        ),
        (
            "cut inside a chunk",
            truncated_inside,
            "failed authentication",
        ),
        (
            "two chunks swapped",
            swapped,
            "chunk 1 of the encrypted file failed authentication",
        ),
        (
            "another file's header",
            foreign_header,
            "chunk 0 of the encrypted file failed authentication",
        ),
        (
            "data appended",
            appended,
            "unexpected data after the final chunk",
        ),
    ];
    for (what, bytes, message) in cases {
        let damaged = dir.join("damaged.csfe");
        std::fs::write(&damaged, bytes).unwrap();
        let out = dir.join("restored.bin");
        let run = server
            .cs(&["decrypt-file"])
            .args(["--in".as_ref(), damaged.as_os_str()])
            .args(["--out".as_ref(), out.as_os_str()])
            .run();
        assert_eq!(run.code, 7, "{what}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{what}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{what}: {}", run.stderr);
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "{what}: one line: {}",
            run.stderr
        );
        assert!(!out.exists(), "{what}: plaintext left at --out");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".partial"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{what}: temporary files left: {leftovers:?}"
        );
    }

    // A file that is not ours at all, and a wrapped key the server will not open.
    let not_ours = dir.join("not-ours");
    std::fs::write(&not_ours, b"just some text, not an encrypted file").unwrap();
    let run = server
        .cs(&["decrypt-file", "--out", "-"])
        .args(["--in".as_ref(), not_ours.as_os_str()])
        .run();
    assert_eq!(run.code, 7);
    assert!(
        run.stderr.contains("not a CryptoServe encrypted file"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    // The undamaged file still opens, so every refusal above was the damage's doing.
    let good = dir.join("good.csfe");
    std::fs::write(&good, &original).unwrap();
    let run = server
        .cs(&["decrypt-file", "--out", "-"])
        .args(["--in".as_ref(), good.as_os_str()])
        .run()
        .ok();
    assert_eq!(run.stdout, std::fs::read(dir.join("a.bin")).unwrap());
}

#[test]
fn files_stream_through_stdin_and_stdout_and_json_summaries_parse() {
    let server = Server::start();
    create_context(&server, "backups");
    let plaintext: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sealed = server
        .cs(&[
            "encrypt-file",
            "--context",
            "backups",
            "--in",
            "-",
            "--out",
            "-",
        ])
        .stdin(&plaintext)
        .run()
        .ok()
        .stdout;
    assert_eq!(&sealed[..4], b"CSFE");
    let opened = server
        .cs(&["decrypt-file", "--in", "-", "--out", "-"])
        .stdin(&sealed)
        .run()
        .ok()
        .stdout;
    assert_eq!(opened, plaintext);

    // Empty files round trip too.
    let sealed = server
        .cs(&["encrypt-file", "-c", "backups", "--in", "-", "--out", "-"])
        .run()
        .ok()
        .stdout;
    let opened = server
        .cs(&["decrypt-file", "--in", "-", "--out", "-"])
        .stdin(&sealed)
        .run()
        .ok()
        .stdout;
    assert!(opened.is_empty());

    // With a file output, --format json prints a summary.
    let dir = server.scratch();
    let out = dir.join("x.csfe");
    let summary = server
        .cs(&[
            "--format",
            "json",
            "encrypt-file",
            "-c",
            "backups",
            "--in",
            "-",
        ])
        .args(["--out".as_ref(), out.as_os_str()])
        .stdin(&plaintext)
        .run()
        .ok()
        .json();
    assert_eq!(summary["plaintext_bytes"], 300_000);
    assert_eq!(summary["context"], "backups");
    assert_eq!(summary["key_version"], 1);
    // ... and refuses to share stdout with the file's bytes.
    let run = server
        .cs(&[
            "--format",
            "json",
            "encrypt-file",
            "-c",
            "backups",
            "--in",
            "-",
            "--out",
            "-",
        ])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
}
