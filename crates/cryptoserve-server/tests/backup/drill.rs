//! The restore drill: export from PostgreSQL while a server process takes crypto and admin
//! writes, import into a fresh SQLite and a freshly migrated PostgreSQL, then on a server
//! running on each: every ciphertext made before the export decrypts, every token works or is
//! still refused, the audit chain verifies, and the tables equal the file's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cryptoserve_testkit::postgres::Postgres;
use serde_json::{json, Value};

use crate::helpers::{read_json, stderr, Deployment, Sealed, Secrets, Server};

/// A token and what a restored server must answer it.
struct Token {
    token: String,
    created: Instant,
    /// When a revocation was sent and when it was answered.
    revoked: Option<(Instant, Instant)>,
}

const CONTEXTS: [(&str, Option<&str>); 3] = [
    ("orders", None),
    ("users", None),
    ("tenants", Some("tenant-7")),
];

async fn create_identity(server: &Server, admin: &str, name: &str) -> (String, String) {
    let body =
        json!({ "name": name, "role": "service", "contexts": ["orders", "users", "tenants"] });
    let (status, body) = server
        .call("POST", "/api/admin/identities", admin, body)
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["identity"]["id"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

async fn revoke_token(server: &Server, admin: &str, token: &str) {
    let (status, body) = server
        .call(
            "POST",
            "/api/admin/tokens/revoke",
            admin,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn set_up(server: &Server, admin: &str) -> Vec<Token> {
    for dimension in ["ip", "identity", "context"] {
        let body = json!({ "requests_per_minute": 10_000_000, "burst_size": 1_000_000 });
        let path = format!("/api/admin/rate-limits/defaults/{dimension}");
        assert_eq!(server.call("PUT", &path, admin, body).await.0, 200);
    }
    let contexts = [
        json!({ "name": "orders", "algorithm": "aes-256-gcm" }),
        json!({ "name": "users", "algorithm": "chacha20-poly1305", "deletion_allowed": true, "auto_rotate_period_secs": 86400 }),
        json!({ "name": "tenants", "derived": true }),
    ];
    for body in contexts {
        assert_eq!(
            server
                .call("POST", "/api/admin/contexts", admin, body)
                .await
                .0,
            201
        );
    }
    assert_eq!(
        server
            .call(
                "POST",
                "/api/admin/contexts/orders/rotate",
                admin,
                json!({})
            )
            .await
            .0,
        200
    );
    let mut tokens = Vec::new();
    for i in 0..4 {
        let (id, token) = create_identity(server, admin, &format!("svc-{i}")).await;
        let now = Instant::now();
        let revoked = match i {
            2 => {
                revoke_token(server, admin, &token).await;
                Some((now, Instant::now()))
            }
            3 => {
                let (status, _) = server
                    .call(
                        "DELETE",
                        &format!("/api/admin/identities/{id}"),
                        admin,
                        Value::Null,
                    )
                    .await;
                assert_eq!(status, 200);
                Some((now, Instant::now()))
            }
            _ => None,
        };
        tokens.push(Token {
            token,
            created: now,
            revoked,
        });
    }
    tokens
}

async fn seal(server: &Server, token: &str, i: usize) -> Sealed {
    let (context, derivation) = CONTEXTS[i % CONTEXTS.len()];
    let plaintext = format!("record {i} of {context}");
    let (status, body) = server.encrypt(token, context, derivation, &plaintext).await;
    assert_eq!(status, 200, "{body}");
    Sealed {
        context: context.to_owned(),
        derivation: derivation.map(str::to_owned),
        plaintext,
        ciphertext: body["ciphertext"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn export_under_load_restores_into_fresh_sqlite_and_postgres() {
    let postgres = Postgres::start().unwrap();
    let secrets = Secrets::generate();
    let source = Deployment::new(&secrets, postgres.create_database("source").unwrap());
    let admin = source.admin_token();
    let server = Arc::new(source.serve().await);
    let tokens = Arc::new(Mutex::new(set_up(&server, &admin).await));
    let service = tokens.lock().unwrap()[0].token.clone();
    let mut before_load = Vec::new();
    for i in 0..120 {
        before_load.push((Instant::now(), seal(&server, &service, i).await));
    }

    // Load: encryptions on one side, context creations, rotations, identities and
    // revocations on the other, until the export has finished.
    let stop = Arc::new(AtomicBool::new(false));
    let sealed = Arc::new(Mutex::new(before_load));
    let crypto = tokio::spawn({
        let (server, stop, sealed, service) = (
            server.clone(),
            stop.clone(),
            sealed.clone(),
            service.clone(),
        );
        async move {
            let mut i = 1000;
            while !stop.load(Ordering::Relaxed) {
                let done = seal(&server, &service, i).await;
                sealed.lock().unwrap().push((Instant::now(), done));
                i += 1;
            }
        }
    });
    let writes = Arc::new(Mutex::new(Vec::new()));
    let admin_load = tokio::spawn({
        let (server, stop, tokens, admin, writes) = (
            server.clone(),
            stop.clone(),
            tokens.clone(),
            admin.clone(),
            writes.clone(),
        );
        async move {
            let wrote = || writes.lock().unwrap().push(Instant::now());
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({ "name": format!("load-{i}") });
                let created = server
                    .call("POST", "/api/admin/contexts", &admin, body)
                    .await;
                assert_eq!(created.0, 201);
                wrote();
                let rotate = "/api/admin/contexts/orders/rotate";
                assert_eq!(server.call("POST", rotate, &admin, json!({})).await.0, 200);
                wrote();
                let (_, token) = create_identity(&server, &admin, &format!("load-{i}")).await;
                let created = Instant::now();
                wrote();
                let revoked = if i % 2 == 0 {
                    let sent = Instant::now();
                    revoke_token(&server, &admin, &token).await;
                    wrote();
                    Some((sent, Instant::now()))
                } else {
                    None
                };
                tokens.lock().unwrap().push(Token {
                    token,
                    created,
                    revoked,
                });
                i += 1;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Export until one run overlapped both kinds of write (the first usually does); the
    // file of the last run is the one restored.
    let file = source.path("backup.json");
    let (mut started, mut finished, mut runs) = (Instant::now(), Instant::now(), 0);
    let (mut crypto_during, mut admin_during) = (0, 0);
    while runs < 20 && (crypto_during == 0 || admin_during == 0) {
        runs += 1;
        started = Instant::now();
        let command = source.command(&["export", "--out", &file.display().to_string()]);
        let output = tokio::task::spawn_blocking(move || {
            let mut command = command;
            command.output().unwrap()
        })
        .await
        .unwrap();
        finished = Instant::now();
        assert!(output.status.success(), "export: {}", stderr(&output));
        let during = |at: &Instant| (started..finished).contains(at);
        crypto_during = sealed
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| during(at))
            .count();
        admin_during = writes
            .lock()
            .unwrap()
            .iter()
            .filter(|at| during(at))
            .count();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    crypto.await.unwrap();
    admin_load.await.unwrap();
    let sealed = std::mem::take(&mut *sealed.lock().unwrap());
    eprintln!(
        "export run {runs} took {:?}; during it: {crypto_during} encryptions and \
         {admin_during} admin writes committed (of {} encryptions, {} admin writes in all)",
        finished - started,
        sealed.len(),
        writes.lock().unwrap().len()
    );
    assert!(crypto_during > 0, "no encryption ran during the export");
    assert!(
        admin_during > 0,
        "no admin write committed during the export"
    );
    drop(server);

    // What the restored servers must show.
    let old: Vec<Sealed> = sealed
        .into_iter()
        .filter(|(at, _)| *at < started)
        .map(|(_, s)| s)
        .collect();
    let expected_tokens: Vec<(String, bool)> = tokens
        .lock()
        .unwrap()
        .iter()
        .filter(|t| t.created < started)
        .filter_map(|t| match t.revoked {
            None => Some((t.token.clone(), true)),
            Some((_, done)) if done < started => Some((t.token.clone(), false)),
            Some((sent, _)) if sent > finished => Some((t.token.clone(), true)),
            Some(_) => None, // revoked while the snapshot was taken: either answer is right
        })
        .chain([(admin.clone(), true)])
        .collect();
    let backup = read_json(&file);
    let audit_rows = backup["tables"]["admin_audit_log"]
        .as_array()
        .unwrap()
        .len();

    let sqlite = Deployment::sqlite(&secrets);
    let fresh_postgres = Deployment::new(&secrets, postgres.create_database("restored").unwrap());
    fresh_postgres.run_ok(&["migrate"]);
    for target in [sqlite, fresh_postgres] {
        let output = target.import(&file, &[]);
        assert!(output.status.success(), "import: {}", stderr(&output));
        assert!(
            stderr(&output).contains("audit chain verifies"),
            "{}",
            stderr(&output)
        );
        let restored = target.tables();
        for table in [
            "contexts",
            "key_versions",
            "identities",
            "revoked_tokens",
            "rate_limit_policies",
            "usage_counters",
        ] {
            assert_eq!(restored[table], backup["tables"][table], "{table} differs");
        }
        let chain = restored["admin_audit_log"].as_array().unwrap();
        assert_eq!(
            chain[..audit_rows],
            backup["tables"]["admin_audit_log"].as_array().unwrap()[..]
        );
        assert_eq!(chain.len(), audit_rows + 1);

        let server = target.serve().await;
        let mut opened = 0;
        for sealed in &old {
            assert!(
                server.opens(&service, sealed).await,
                "{sealed:?} does not decrypt on {}",
                target.database_url
            );
            opened += 1;
        }
        let (mut working, mut refused) = (0, 0);
        for (token, works) in &expected_tokens {
            let (status, _) = server.encrypt(token, "orders", None, "after restore").await;
            assert_eq!(
                status,
                if *works { 200 } else { 401 },
                "token expected to work: {works}"
            );
            if *works {
                working += 1
            } else {
                refused += 1
            }
        }
        let (status, verify) = server
            .call("GET", "/api/admin/audit/verify", &admin, Value::Null)
            .await;
        assert_eq!(status, 200);
        assert_eq!(verify["ok"], json!(true), "{verify}");
        assert_eq!(verify["rows_checked"], json!(audit_rows + 1));
        eprintln!(
            "restored into {}: {opened} ciphertexts decrypt, {working} tokens work, {refused} \
             revoked tokens refused, audit chain verifies ({} rows)",
            target.database_url.split(':').next().unwrap_or_default(),
            audit_rows + 1
        );
    }
}
