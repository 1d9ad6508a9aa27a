//! The Redis helpers start real servers that answer, and clean up after themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use cryptoserve_testkit::redis::{RedisCluster, RedisOptions, RedisServer};

fn cli(port: u16, extra: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(extra)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn standalone_starts_restarts_and_dies() {
    let mut server = RedisServer::start().unwrap();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    assert_eq!(cli(server.port(), &["SET", "k", "v"]), "OK");

    server.restart().unwrap();
    assert_eq!(cli(server.port(), &["PING"]), "PONG");
    assert_eq!(
        cli(server.port(), &["GET", "k"]),
        "",
        "restart comes back empty"
    );

    server.kill().unwrap();
    assert_ne!(cli(server.port(), &["PING"]), "PONG");
}

#[test]
fn password_is_required_and_in_the_url() {
    let server = RedisServer::start_with(RedisOptions {
        password: Some("s3cret".into()),
        ..RedisOptions::default()
    })
    .unwrap();
    assert_eq!(
        server.url(),
        format!("redis://:s3cret@127.0.0.1:{}", server.port())
    );
    assert!(cli(server.port(), &["PING"]).contains("NOAUTH"));
    assert_eq!(
        cli(
            server.port(),
            &["-a", "s3cret", "--no-auth-warning", "PING"]
        ),
        "PONG"
    );
}

#[test]
fn cluster_of_three_is_ok_on_every_node() {
    let cluster = RedisCluster::start(3).unwrap();
    let ports = cluster.ports().to_vec();
    assert_eq!(ports.len(), 3);
    assert_eq!(
        cluster.url(),
        format!(
            "redis-cluster://127.0.0.1:{}?node=127.0.0.1:{}&node=127.0.0.1:{}",
            ports[0], ports[1], ports[2]
        )
    );
    for port in &ports {
        assert!(cli(*port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));
    }
    // -c follows MOVED redirections, so any key works from any node.
    assert_eq!(cli(ports[0], &["-c", "SET", "a", "1"]), "OK");
    assert_eq!(cli(ports[1], &["-c", "GET", "a"]), "1");
    drop(cluster);
    assert_ne!(cli(ports[0], &["PING"]), "PONG");
}
