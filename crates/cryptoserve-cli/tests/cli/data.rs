//! The data commands through stdin and stdout: binary-safe, raw plaintext out, JSON that
//! parses.

use crate::support::{create_context, Server};

#[test]
fn encrypt_and_decrypt_are_binary_safe_through_stdin_and_stdout() {
    let server = Server::start();
    create_context(&server, "payments");
    let every_byte: Vec<u8> = (0..=255u8).collect();
    for plaintext in [every_byte.as_slice(), b"", b"line\n\r\n\0tail"] {
        let ciphertext = server
            .cs(&["encrypt", "--context", "payments"])
            .stdin(plaintext)
            .run()
            .ok()
            .text();
        assert!(ciphertext.starts_with("cs1:v1:"), "{ciphertext}");
        assert!(ciphertext.ends_with('\n') && ciphertext.lines().count() == 1);
        let opened = server
            .cs(&["decrypt", "--context", "payments"])
            .stdin(ciphertext.as_bytes())
            .run()
            .ok();
        assert_eq!(
            opened.stdout, plaintext,
            "no newline added, nothing changed"
        );
        assert!(opened.stderr.is_empty(), "{}", opened.stderr);
    }

    // Associated data is needed again; --in / --out work like the streams.
    let dir = server.scratch();
    let input = dir.join("secret.bin");
    std::fs::write(&input, &every_byte).unwrap();
    let sealed = dir.join("secret.ct");
    server
        .cs(&["encrypt", "-c", "payments", "--aad", "order-42"])
        .args(["--in".as_ref(), input.as_os_str()])
        .args(["--out".as_ref(), sealed.as_os_str()])
        .run()
        .ok();
    let run = server
        .cs(&["decrypt", "-c", "payments"])
        .args(["--in".as_ref(), sealed.as_os_str()])
        .run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("decryption failed"), "{}", run.stderr);
    assert!(run.stderr.contains("request id "), "{}", run.stderr);
    let out = dir.join("secret.out");
    server
        .cs(&["decrypt", "-c", "payments", "--aad", "order-42"])
        .args(["--in".as_ref(), sealed.as_os_str()])
        .args(["--out".as_ref(), out.as_os_str()])
        .run()
        .ok();
    assert_eq!(std::fs::read(&out).unwrap(), every_byte);

    // Rewrap after a rotation moves the ciphertext to version 2 and it still opens.
    server.cs(&["context", "rotate", "payments"]).run().ok();
    let rewrapped = server
        .cs(&["rewrap", "-c", "payments", "--aad", "order-42"])
        .args(["--in".as_ref(), sealed.as_os_str()])
        .run()
        .ok()
        .text();
    assert!(rewrapped.starts_with("cs1:v2:"), "{rewrapped}");
    let opened = server
        .cs(&["decrypt", "-c", "payments", "--aad", "order-42"])
        .stdin(rewrapped.as_bytes())
        .run()
        .ok();
    assert_eq!(opened.stdout, every_byte);

    // A derived context needs its derivation context, the same text again to decrypt.
    server
        .cs(&["context", "create", "tenants", "--derived"])
        .run()
        .ok();
    let run = server.cs(&["encrypt", "-c", "tenants"]).stdin(b"x").run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    let sealed = server
        .cs(&[
            "encrypt",
            "-c",
            "tenants",
            "--derivation-context",
            "tenant-7",
        ])
        .stdin(&every_byte)
        .run()
        .ok()
        .text();
    let run = server
        .cs(&[
            "decrypt",
            "-c",
            "tenants",
            "--derivation-context",
            "tenant-8",
        ])
        .stdin(sealed.as_bytes())
        .run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    let opened = server
        .cs(&[
            "decrypt",
            "-c",
            "tenants",
            "--derivation-context",
            "tenant-7",
        ])
        .stdin(sealed.as_bytes())
        .run()
        .ok();
    assert_eq!(opened.stdout, every_byte);

    // A data key of a derived context: its wrapped form opens with the same derivation
    // context and gives back the same key bytes.
    let run = server.cs(&["datakey", "-c", "tenants"]).run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    let key = server
        .cs(&["--format", "json", "datakey", "-c", "tenants"])
        .args(["--derivation-context", "tenant-7"])
        .run()
        .ok()
        .json();
    let wrapped = key["wrapped_key"].as_str().unwrap().to_owned();
    let bytes = server
        .cs(&[
            "decrypt",
            "-c",
            "tenants",
            "--derivation-context",
            "tenant-7",
        ])
        .stdin(wrapped.as_bytes())
        .run()
        .ok()
        .stdout;
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(key["plaintext_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, expected);
}

#[test]
fn json_output_parses_for_data_and_admin_commands() {
    let server = Server::start();
    create_context(&server, "payments");

    let sealed = server
        .cs(&["--format", "json", "encrypt", "--context", "payments"])
        .stdin(b"card 4111")
        .run()
        .ok()
        .json();
    let ciphertext = sealed["ciphertext"].as_str().unwrap();
    assert!(ciphertext.starts_with("cs1:v1:"));
    assert_eq!(sealed["key_version"], 1);
    assert_eq!(sealed["algorithm"], "aes-256-gcm");
    let opened = server
        .cs(&["decrypt", "--context", "payments", "--format", "json"])
        .stdin(ciphertext.as_bytes())
        .run()
        .ok()
        .json();
    assert_eq!(opened["plaintext"], "Y2FyZCA0MTEx");

    let key = server
        .cs(&[
            "--format", "json", "datakey", "-c", "payments", "--bits", "512",
        ])
        .run()
        .ok()
        .json();
    assert_eq!(key["bits"], 512);
    assert!(key["plaintext_key"].as_str().unwrap().len() > 80);
    let wrapped_only = server
        .cs(&["datakey", "-c", "payments", "--wrapped-only"])
        .run()
        .ok()
        .text();
    assert!(wrapped_only.starts_with("cs1:v1:") && wrapped_only.lines().count() == 1);

    let contexts = server
        .cs(&["context", "list", "--format", "json"])
        .run()
        .ok()
        .json();
    let names: Vec<&str> = contexts
        .as_array()
        .unwrap()
        .iter()
        .map(|context| context["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["payments"]);

    let status = server.cs(&["status", "--format", "json"]).run().ok().json();
    let instances = status.as_array().unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["ready"], true);
    assert_eq!(instances[0]["readiness"]["status"], "ready");

    // The human form: one aligned line per instance under a header.
    let table = server.cs(&["status"]).run().ok().text();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("ADDRESS") && lines[1].contains(" ready "),
        "{table}"
    );
    assert_eq!(lines[0].find("STATUS"), lines[1].find("ready"), "{table}");
}
