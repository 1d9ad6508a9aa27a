//! Free loopback ports and readiness waits.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Asks the kernel for a free port on 127.0.0.1. There is a small race between returning the
/// port and the caller binding it; servers that cannot take a pre-bound socket accept that.
pub fn free_port() -> crate::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(crate::io_err("binding port 0"))?;
    let port = listener
        .local_addr()
        .map_err(crate::io_err("reading local addr"))?
        .port();
    Ok(port)
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
pub fn wait_for_port(port: u16, what: &str, timeout: Duration) -> crate::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(crate::TestkitError::NotReady(format!(
        "{what} on port {port}"
    )))
}
