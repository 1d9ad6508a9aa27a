//! `cryptoserve-floor --listen 127.0.0.1:0`: the floor server the load benchmark compares
//! CryptoServe with (`cryptoserve_bench::floor`). Not part of the product. Prints
//! `listening on <address>` on stdout once bound, then serves until killed.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::TcpListener;

use anyhow::Context as _;
use cryptoserve_bench::floor::app::{self, Sealer};

/// The server's allocator (see `crates/cryptoserve-server/src/main.rs`), so that the floor
/// differs from it only in what a request does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = match (args.next().as_deref(), args.next(), args.next()) {
        (Some("--listen"), Some(address), None) => address,
        _ => anyhow::bail!("usage: cryptoserve-floor --listen ADDRESS (e.g. 127.0.0.1:0)"),
    };
    let listener = TcpListener::bind(&listen).with_context(|| format!("binding {listen}"))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let sealer = Sealer::generate().context("drawing the key from the OS random source")?;
    let server = app::build(listener, sealer).context("starting the server")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {address}").context("printing the address")?;
    stdout.flush().context("printing the address")?;
    server.await.context("serving")
}
