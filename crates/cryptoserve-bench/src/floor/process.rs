//! One `cryptoserve-floor` child: started on a free loopback port, ready once `/live` answers
//! 200, killed when dropped (like [`crate::server::EmbeddedServer`]).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use cryptoserve_cluster::probe;

use crate::error::{io_err, BenchError, Result};
use crate::procstat::Watch;

/// How long the floor may take to answer `/live`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running floor server.
#[derive(Debug)]
pub struct FloorServer {
    port: u16,
    child: Child,
    /// Kept open so the child never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl FloorServer {
    /// Spawns `binary --listen 127.0.0.1:0`, reads the address it bound from its first line,
    /// and waits for `/live` = 200.
    pub fn start(binary: &Path) -> Result<FloorServer> {
        let mut child = Command::new(binary)
            .env_clear()
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(io_err(format!(
                "spawning {} (scripts/bench-load builds it)",
                binary.display()
            )))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BenchError::Server(
                "the floor's stdout is not a pipe".into(),
            ));
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let port = stdout
            .read_line(&mut line)
            .ok()
            .and_then(|_| parse_listening(&line));
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BenchError::Server(format!(
                "the floor printed {line:?}, not its address"
            )));
        };
        let mut server = FloorServer {
            port,
            child,
            _stdout: stdout,
        };
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(BenchError::Server(format!(
                    "the floor exited with {status}"
                )));
            }
            let live = probe::get(server.port, "/live", Duration::from_secs(1));
            if live.is_some_and(|response| response.status == 200) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(BenchError::Server(format!(
            "the floor gave no 200 from /live in {READY_TIMEOUT:?}"
        )))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What `/proc` sampling watches: the floor alone.
    pub fn watch(&self) -> Watch {
        Watch {
            servers: vec![self.child.id()],
            auxiliary: Vec::new(),
        }
    }

    /// Whether it is still running.
    pub fn is_alive(&self) -> bool {
        cryptoserve_cluster::process::is_alive(self.child.id())
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of `listening on 127.0.0.1:<port>`.
fn parse_listening(line: &str) -> Option<u16> {
    let address = line.trim().strip_prefix("listening on ")?;
    address
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.port())
}

#[cfg(test)]
mod tests {
    use super::parse_listening;

    #[test]
    fn the_bound_address_is_read_from_the_first_line() {
        assert_eq!(parse_listening("listening on 127.0.0.1:4321\n"), Some(4321));
        assert_eq!(parse_listening("listening on nowhere"), None);
        assert_eq!(parse_listening(""), None);
    }
}
