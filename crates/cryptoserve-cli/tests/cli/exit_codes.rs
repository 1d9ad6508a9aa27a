//! Exit codes as documented in `cs --help` and docs/cli.md, with one clear line on stderr.

use crate::support::{create_context, dead_address, Cs, Server};

#[test]
fn refusals_map_to_their_documented_exit_codes() {
    let server = Server::start();
    create_context(&server, "payments");

    // 3: a token the server does not accept (and the token is never echoed).
    let run = server.cs_as("not-a-real-token", &["context", "list"]).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: unauthorized"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(request id "), "{}", run.stderr);
    assert!(!run.stderr.contains("not-a-real-token"));

    // 4: an unknown context.
    let run = server
        .cs(&["encrypt", "--context", "nope"])
        .stdin(b"x")
        .run();
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("unknown context"), "{}", run.stderr);
    let run = server
        .cs(&["identity", "show", "00000000-0000-4000-8000-000000000000"])
        .run();
    assert_eq!(run.code, 4, "{}", run.stderr);

    // 7: refused data, and an invalid request; the plaintext is never echoed.
    let run = server
        .cs(&["decrypt", "--context", "payments"])
        .stdin(b"cs1:v1:AAAA")
        .run();
    assert_eq!(run.code, 7, "{}", run.stderr);
    let run = server.cs(&["context", "create", "payments"]).run();
    assert_eq!(run.code, 7, "conflict: {}", run.stderr);

    // 2: usage errors, from clap and from the configuration.
    let run = server.cs(&["encrypt"]).run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = server.cs(&["context", "delete", "payments"]).run();
    assert_eq!(run.code, 2, "delete needs --yes: {}", run.stderr);
    let run = Cs::new(&["context", "list"]).run();
    assert_eq!(run.code, 2, "no address: {}", run.stderr);
    assert!(run.stderr.contains("CRYPTOSERVE_ADDR"), "{}", run.stderr);

    // 6: nothing listening; status names the dead instance beside the live one.
    let dead = dead_address();
    let run = server.cs(&["context", "list", "--addr", &dead]).run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("could not reach"), "{}", run.stderr);
    let addresses = format!("{},{dead}", server.address);
    let run = server.cs(&["status", "--addr", &addresses]).run();
    assert_eq!(run.code, 6, "{}", run.stderr);
    let table = run.text();
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.lines().nth(2).unwrap().contains("unreachable"),
        "{table}"
    );
    // ... and failover: the dead address first, the live one second.
    let failover = format!("{dead},{}", server.address);
    server
        .cs(&["context", "list", "--addr", &failover])
        .run()
        .ok();
}

#[test]
fn a_rate_limited_call_exits_5_when_no_waits_are_allowed() {
    let server = Server::start();
    create_context(&server, "payments");
    let created = server
        .cs(&[
            "--format", "json", "identity", "create", "--name", "limited",
        ])
        .args(["--role", "service", "--contexts", "payments"])
        .run()
        .ok()
        .json();
    let id = created["identity"]["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    server
        .cs(&["rate-limit", "set", "--identity", &id])
        .args(["--requests-per-minute", "1", "--burst", "1"])
        .run()
        .ok();

    // 3 also for a forbidden action: a service identity on an admin route.
    let run = server.cs_as(&token, &["context", "list"]).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("forbidden"), "{}", run.stderr);

    // The override reaches the limiter within a cache refresh; the burst of 1 then lets one
    // call through and refuses the next.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let refused = loop {
        let run = server
            .cs_as(
                &token,
                &["encrypt", "-c", "payments", "--max-rate-limit-waits", "0"],
            )
            .stdin(b"x")
            .run();
        if run.code != 0 || std::time::Instant::now() > deadline {
            break run;
        }
    };
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(refused.stderr.contains("retry after"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("(request id "),
        "{}",
        refused.stderr
    );

    // Resetting the bucket lets the identity through again.
    server
        .cs(&["rate-limit", "reset", "identity", &id])
        .run()
        .ok();
    server
        .cs_as(
            &token,
            &["encrypt", "-c", "payments", "--max-rate-limit-waits", "0"],
        )
        .stdin(b"x")
        .run()
        .ok();
}
