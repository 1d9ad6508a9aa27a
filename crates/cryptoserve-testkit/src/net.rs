//! Free loopback ports and readiness waits.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Ports this process has already handed out. The kernel may return a port again as soon as
/// the probing listener is closed; remembering them keeps two servers of one test binary (a
/// cluster node's client and bus ports, or two tests running in parallel) from being given the
/// same port before either has bound it.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// How many kernel-chosen ports we probe before giving up on finding one not handed out yet.
const PROBES: usize = 64;

/// Asks the kernel for a free port on 127.0.0.1 that this process has not handed out before.
/// Another process can still take the port between this call and the caller binding it, so
/// server helpers that cannot take a pre-bound socket retry on a new port when that happens.
pub fn free_port() -> crate::Result<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..PROBES {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(crate::io_err("binding port 0"))?;
        let port = listener
            .local_addr()
            .map_err(crate::io_err("reading local addr"))?
            .port();
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
    Err(crate::TestkitError::NotReady(
        "a loopback port not handed out before".to_owned(),
    ))
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

/// Like [`wait_for_port`], but for a server we spawned: returns
/// [`crate::TestkitError::Exited`] as soon as the child exits instead of waiting out
/// `timeout` for a port nobody will open.
pub fn wait_for_child_port(
    child: &mut std::process::Child,
    port: u16,
    what: &str,
    timeout: Duration,
) -> crate::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        ensure_running(child, port, what)?;
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(crate::TestkitError::NotReady(format!(
        "{what} on port {port}"
    )))
}

/// [`crate::TestkitError::Exited`] if the server we spawned (`what`, meant to listen on
/// `port`) has exited.
pub fn ensure_running(child: &mut std::process::Child, port: u16, what: &str) -> crate::Result<()> {
    match child
        .try_wait()
        .map_err(crate::io_err(format!("checking on {what}")))?
    {
        Some(status) => Err(crate::TestkitError::Exited {
            what: format!("{what} on port {port}"),
            status: status.to_string(),
            log: String::new(),
        }),
        None => Ok(()),
    }
}
