//! Helpers for the fault drills: finding (building) the server binary, the drills' shared
//! state (`harness.rs`), a bounded load generator (`load.rs`), a saturating one that records
//! every answer for counting what a rate limit admitted (`saturate.rs`), what an operator
//! would watch during a fault (`observe.rs`: metrics, readiness, logs, a replica's role),
//! typed calls to the admin API and backend metrics, the TLS settings every client of the
//! cluster needs, and the TLS refusals drill 7 checks (`tls.rs`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod harness;
pub mod load;
pub mod observe;
pub mod saturate;
pub mod tls;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Trust the cluster's CA and nothing else: a certificate from anywhere else, even one a
/// public CA signed, is refused, as a production client pinned to its CA would.
pub fn trusting_only(builder: reqwest::ClientBuilder, ca_cert: &Path) -> reqwest::ClientBuilder {
    let pem = std::fs::read(ca_cert).expect("reading the cluster CA");
    builder
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("the cluster CA"))
}

/// Also present the cluster's client certificate: the backends require one (nginx has it;
/// the drills need it to reach a backend directly). nginx asks for none, so it never sees it.
pub fn with_client_cert(
    builder: reqwest::ClientBuilder,
    cert: &Path,
    key: &Path,
) -> reqwest::ClientBuilder {
    let mut pem = std::fs::read(cert).expect("reading the client certificate");
    pem.extend(std::fs::read(key).expect("reading the client key"));
    builder.identity(reqwest::Identity::from_pem(&pem).expect("the client certificate and key"))
}

/// The `cryptoserve` binary to run. `CRYPTOSERVE_BIN` wins; otherwise the server is built
/// (a no-op when fresh) into the target dir this test runs from, so `cargo test -p
/// cryptoserve-cluster` works from a clean checkout, where nothing else builds it.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CRYPTOSERVE_BIN") {
        return PathBuf::from(path);
    }
    // <target>/<profile>/deps/drills-<hash>
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("profile dir has a parent");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "cryptoserve-server", "--bin", "cryptoserve"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(repo_root());
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo build for the server");
    assert!(status.success(), "building cryptoserve failed: {status}");
    let binary = profile_dir.join("cryptoserve");
    assert!(
        binary.is_file(),
        "{} missing after the build",
        binary.display()
    );
    binary
}

/// The checkout root (nginx.scale.conf lives there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
