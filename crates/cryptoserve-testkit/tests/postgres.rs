//! The throwaway PostgreSQL cluster starts, serves queries, survives a stop/start cycle and
//! hands out separate databases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cryptoserve_testkit::postgres::Postgres;

#[test]
fn starts_stops_and_starts_again_on_the_same_port() {
    let mut server = Postgres::start().expect("postgres starts");
    let port = server.port();
    assert_eq!(
        server.url(),
        format!("postgres://postgres@127.0.0.1:{port}/cryptoserve")
    );
    assert_eq!(server.psql("cryptoserve", "SELECT 1").unwrap(), "1");
    server
        .psql(
            "cryptoserve",
            "CREATE TABLE survives (v int); INSERT INTO survives VALUES (42)",
        )
        .unwrap();

    server.stop().unwrap();
    assert!(
        server.psql("cryptoserve", "SELECT 1").is_err(),
        "a stopped server must refuse queries"
    );

    server.start_again().unwrap();
    assert_eq!(server.port(), port);
    assert_eq!(
        server
            .psql("cryptoserve", "SELECT v FROM survives")
            .unwrap(),
        "42"
    );
}

#[test]
fn create_database_gives_separate_databases() {
    let server = Postgres::start().unwrap();
    let url = server.create_database("tenant_a").unwrap();
    assert!(url.ends_with("/tenant_a"));
    server
        .psql("tenant_a", "CREATE TABLE only_here (v int)")
        .unwrap();
    assert_eq!(
        server
            .psql(
                "tenant_a",
                "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'"
            )
            .unwrap(),
        "1"
    );
    assert_eq!(
        server
            .psql(
                "cryptoserve",
                "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'"
            )
            .unwrap(),
        "0"
    );
    assert!(server.create_database("bad name; DROP").is_err());
}

#[test]
fn drop_stops_the_server_and_removes_its_files() {
    let server = Postgres::start().unwrap();
    let port = server.port();
    drop(server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
