//! The Redis helpers start real servers that answer, and clean up after themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

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
    let ports = cluster.ports();
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

/// Three masters with a replica each: killing the master of a key promotes its replica
/// within a few node timeouts, the key (replicated before the kill) is still there, and the
/// old master comes back as a replica of its successor.
#[test]
fn a_killed_master_is_replaced_by_its_replica() {
    let mut cluster = RedisCluster::start_with_replicas(3, 1).unwrap();
    assert_eq!(cluster.ports().len(), 6);
    let nodes = cluster.nodes().unwrap();
    assert_eq!(nodes.iter().filter(|node| node.master).count(), 3);
    assert_eq!(
        nodes.iter().filter(|node| node.master_id.is_some()).count(),
        3
    );

    let master = cluster.master_of_key("cs:rl:context:drills").unwrap();
    let replicas = cluster.replicas_of(master).unwrap();
    assert_eq!(replicas.len(), 1, "{nodes:?}");
    assert!(cluster.is_master(master).unwrap());
    assert!(!cluster.is_master(replicas[0]).unwrap());
    assert_eq!(cli(master, &["SET", "cs:rl:context:drills", "7"]), "OK");
    // WAIT: the write reached the replica before the crash.
    assert_eq!(cli(master, &["WAIT", "1", "2000"]), "1");

    let killed = Instant::now();
    cluster.kill_node(master).unwrap();
    assert_ne!(cli(master, &["PING"]), "PONG");
    let deadline = killed + Duration::from_secs(20);
    while !cluster.is_master(replicas[0]).unwrap() {
        assert!(Instant::now() < deadline, "replica never promoted");
        std::thread::sleep(Duration::from_millis(50));
    }
    let promoted = killed.elapsed();
    cluster.wait_until_ok(Duration::from_secs(20)).unwrap();
    println!(
        "replica promoted {:.2} s after the kill (cluster-node-timeout {:?}); cluster ok {:.2} s after",
        promoted.as_secs_f64(),
        cluster.node_timeout(),
        killed.elapsed().as_secs_f64()
    );
    assert_eq!(
        cluster.master_of_key("cs:rl:context:drills").unwrap(),
        replicas[0]
    );
    assert_eq!(cli(replicas[0], &["GET", "cs:rl:context:drills"]), "7");

    cluster.restart_node(master).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.replicas_of(replicas[0]).unwrap() != vec![master] {
        assert!(
            Instant::now() < deadline,
            "old master never rejoined as a replica"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!cluster.is_master(master).unwrap());
}
