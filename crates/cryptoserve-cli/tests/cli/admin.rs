//! Every admin command round trips through `cs` against a real server.

use crate::support::Server;

#[test]
fn contexts_round_trip() {
    let server = Server::start();
    let created = server
        .cs(&["--format", "json", "context", "create", "orders"])
        .args([
            "--description",
            "order data",
            "--algorithm",
            "chacha20-poly1305",
        ])
        .run()
        .ok()
        .json();
    assert_eq!(created["algorithm"], "chacha20-poly1305");
    assert_eq!(created["current_version"], 1);

    let shown = server.cs(&["context", "show", "orders"]).run().ok().text();
    assert!(
        shown.contains("description             order data"),
        "{shown}"
    );
    assert!(shown.contains("VERSION  STATUS"), "{shown}");

    let rotated = server
        .cs(&["context", "rotate", "orders", "--format", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(rotated["current_version"], 2);
    let retired = server
        .cs(&[
            "context",
            "set-min-version",
            "orders",
            "2",
            "--format",
            "json",
        ])
        .run()
        .ok()
        .json();
    assert_eq!(retired["min_decryption_version"], 2);
    let detail = server
        .cs(&["context", "show", "orders", "--format", "json"])
        .run()
        .ok()
        .json();
    let statuses: Vec<&str> = detail["key_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["retired", "active"]);

    let listed = server.cs(&["context", "list"]).run().ok().text();
    assert!(listed.starts_with("NAME"), "{listed}");
    assert!(
        listed.lines().any(|line| line.starts_with("orders ")),
        "{listed}"
    );

    let run = server.cs(&["context", "delete", "orders", "--yes"]).run();
    assert_eq!(run.code, 7, "deletion not allowed yet: {}", run.stderr);
    server
        .cs(&[
            "context",
            "configure",
            "orders",
            "--deletion-allowed",
            "true",
        ])
        .run()
        .ok();
    server
        .cs(&["context", "delete", "orders", "--yes"])
        .run()
        .ok();
    let run = server.cs(&["context", "show", "orders"]).run();
    assert_eq!(run.code, 4, "{}", run.stderr);
}

#[test]
fn identities_tokens_rate_limits_audit_and_usage_round_trip() {
    let server = Server::start();
    server.cs(&["context", "create", "payments"]).run().ok();

    // identity create: the token alone on stdout, usable at once.
    let created = server
        .cs(&[
            "identity", "create", "--name", "billing", "--role", "service",
        ])
        .args(["--contexts", "payments"])
        .run()
        .ok();
    let token = created.text().trim().to_owned();
    assert_eq!(created.text().lines().count(), 1);
    assert!(
        created.stderr.contains("created identity"),
        "{}",
        created.stderr
    );
    server
        .cs_as(&token, &["encrypt", "-c", "payments"])
        .stdin(b"x")
        .run()
        .ok();

    let identities = server
        .cs(&["identity", "list", "--format", "json"])
        .run()
        .ok()
        .json();
    let billing = identities
        .as_array()
        .unwrap()
        .iter()
        .find(|identity| identity["name"] == "billing")
        .unwrap();
    let id = billing["id"].as_str().unwrap().to_owned();
    let table = server.cs(&["identity", "list"]).run().ok().text();
    assert!(table.lines().any(|line| line.starts_with(&id)), "{table}");
    let shown = server.cs(&["identity", "show", &id]).run().ok().text();
    assert!(shown.contains("contexts    payments"), "{shown}");

    // Rate limits: set, show (override in force), reset, delete (default again).
    server
        .cs(&["rate-limit", "set", "--identity", &id])
        .args(["--requests-per-minute", "600", "--burst", "50"])
        .run()
        .ok();
    let in_force = server
        .cs(&["rate-limit", "show", "--identity", &id, "--format", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(in_force["override"], true);
    assert_eq!(in_force["policy"]["requests_per_minute"], 600);
    let all = server.cs(&["rate-limit", "show"]).run().ok().text();
    assert!(
        all.lines()
            .any(|line| line.starts_with("identity") && line.contains(&id)),
        "{all}"
    );
    server
        .cs(&["rate-limit", "reset", "identity", &id])
        .run()
        .ok();
    server
        .cs(&["rate-limit", "delete", "--identity", &id])
        .run()
        .ok();
    let in_force = server
        .cs(&["rate-limit", "show", "--identity", &id, "--format", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(in_force["override"], false);
    let run = server
        .cs(&[
            "rate-limit",
            "set",
            "--requests-per-minute",
            "1",
            "--burst",
            "1",
        ])
        .run();
    assert_eq!(run.code, 2, "a target is required: {}", run.stderr);

    // A second token for the same identity is revoked alone (read from stdin); then the
    // identity with all its tokens.
    let revoked = server
        .cs(&["token", "revoke", "--format", "json"])
        .stdin(token.as_bytes())
        .run()
        .ok()
        .json();
    assert_eq!(revoked["revoked"]["identity_id"], id.as_str());
    let revoked = server
        .cs(&["identity", "revoke", &id, "--format", "json"])
        .run()
        .ok()
        .json();
    assert!(revoked["revoked_at"].is_string());
    let run = server
        .cs_as(&token, &["encrypt", "-c", "payments"])
        .stdin(b"x")
        .run();
    assert_eq!(run.code, 3, "{}", run.stderr);

    // The audit chain saw all of it and is intact.
    let verified = server.cs(&["audit", "verify"]).run().ok().text();
    assert!(verified.starts_with("intact           yes"), "{verified}");
    let rows = server
        .cs(&["audit", "list", "--format", "json"])
        .run()
        .ok()
        .json();
    let actions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["action"].as_str().unwrap())
        .collect();
    for action in [
        "context.create",
        "identity.create",
        "token.revoke",
        "identity.revoke",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let page = server
        .cs(&["audit", "list", "--limit", "2", "--format", "json"])
        .run()
        .ok()
        .json();
    assert_eq!(page.as_array().unwrap().len(), 2);

    let usage = server
        .cs(&["usage", "--context", "payments", "--format", "json"])
        .run()
        .ok()
        .json();
    assert!(usage.is_array(), "{usage}");
    let table = server.cs(&["usage"]).run().ok().text();
    assert!(table.starts_with("MINUTE"), "{table}");
}

#[test]
fn help_and_completions_read_well() {
    let help = crate::support::Cs::new(&["--help"]).run().ok().text();
    for needle in [
        "Exit codes:",
        "7  data refused",
        "CRYPTOSERVE_ADDR",
        "encrypt-file",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    let help = crate::support::Cs::new(&["decrypt-file", "--help"])
        .run()
        .ok()
        .text();
    assert!(help.contains("Example:"), "{help}");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = crate::support::Cs::new(&["completions", shell])
            .run()
            .ok()
            .text();
        assert!(script.contains("encrypt-file"), "{shell}");
    }
}

#[test]
fn audit_verify_takes_a_checkpoint_from_a_log_or_json() {
    let server = Server::start();
    server.cs(&["context", "create", "checked"]).run().ok();
    // The server logs a checkpoint after each admin change; a shipper's copy is a log file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.log().contains("\"kind\":\"checkpoint\"") {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = server.scratch().join("audit.log");
    std::fs::write(&log, server.log()).unwrap();
    let verified = server
        .cs(&["audit", "verify", "--checkpoint", log.to_str().unwrap()])
        .run()
        .ok()
        .text();
    assert!(verified.starts_with("intact           yes"), "{verified}");
    assert!(verified.contains("checkpoint (given): row"), "{verified}");

    // A checkpoint whose MAC does not verify is refused: exit 7.
    let line = server
        .log()
        .lines()
        .rev()
        .find(|line| line.contains("\"kind\":\"checkpoint\""))
        .unwrap()
        .to_owned();
    let start = line.find('{').unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&line[start..]).unwrap();
    let sequence = value["checkpoint"]["sequence"].as_i64().unwrap();
    value["checkpoint"]["sequence"] = serde_json::json!(sequence + 1);
    let forged = value["checkpoint"].to_string();
    let run = server
        .cs(&["audit", "verify", "--checkpoint", &forged])
        .run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("MAC does not verify"), "{}", run.stderr);

    // Something that is not a checkpoint: exit 7, saying what was expected.
    let run = server
        .cs(&["audit", "verify", "--checkpoint", "{\"sequence\": 1}"])
        .run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("no audit checkpoint"), "{}", run.stderr);
}
