//! The real `cryptoserve` binary as a child process: a free loopback port, a fresh data
//! directory (embedded default: SQLite, generated development secrets), an admin token made
//! with the offline `cryptoserve identity create`, killed when dropped. For tests of programs
//! that talk to a server over HTTP (the client crate, the `cs` CLI).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{io_err, net, Result, TestkitError};

/// The binary: `$CRYPTOSERVE_BIN` (scripts/test exports it), else built with cargo into the
/// target directory the running test lives in (a no-op when fresh), once per process.
pub fn binary() -> Result<PathBuf> {
    static BINARY: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| find_or_build().map_err(|error| error.to_string()))
        .clone()
        .map_err(|output| TestkitError::CommandFailed {
            command: "cargo build -p cryptoserve-server".into(),
            output,
        })
}

fn find_or_build() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CRYPTOSERVE_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(io_err("finding the test binary"))?;
    // <target>/<profile>/deps/<test>: the binary goes to <target>/<profile>/cryptoserve.
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| TestkitError::NotReady("a target directory above the test".into()))?
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| TestkitError::NotReady("a target directory above the test".into()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "-p", "cryptoserve-server", "--bin", "cryptoserve"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .map_err(io_err("running cargo build"))?;
    if !output.status.success() {
        return Err(TestkitError::CommandFailed {
            command: "cargo build -p cryptoserve-server".into(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(profile_dir.join("cryptoserve"))
}

/// A running `cryptoserve serve`.
#[derive(Debug)]
pub struct CryptoServe {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An admin token (all contexts).
    pub admin_token: String,
}

impl CryptoServe {
    /// Starts a server and waits until `/health/ready` answers 200.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir().map_err(io_err("creating a temp dir"))?;
        let port = net::free_port()?;
        // Created before the server starts, so it loads the identity with everything else.
        let output = command_for(dir.path(), port, &["identity", "create", "--name", "tests"])?
            .args(["--role", "admin", "--contexts", "*"])
            .output()
            .map_err(io_err("running cryptoserve identity create"))?;
        if !output.status.success() {
            return Err(TestkitError::CommandFailed {
                command: "cryptoserve identity create".into(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        let admin_token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).map_err(io_err("creating the log"))?;
        let log_err = log.try_clone().map_err(io_err("cloning the log"))?;
        let child = command_for(dir.path(), port, &["serve"])?
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io_err("spawning cryptoserve serve"))?;
        let mut server = Self {
            child,
            dir,
            port,
            address: format!("http://127.0.0.1:{port}"),
            admin_token,
        };
        server.wait_ready(Duration::from_secs(60))?;
        Ok(server)
    }

    /// The binary with this server's environment (data dir, listen address), for commands
    /// such as `identity create`.
    pub fn command(&self, args: &[&str]) -> Result<Command> {
        command_for(self.dir.path(), self.port, args)
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if ready(self.port) {
                return Ok(());
            }
            if let Err(TestkitError::Exited { what, status, .. }) =
                net::ensure_running(&mut self.child, self.port, "cryptoserve")
            {
                return Err(TestkitError::Exited {
                    what,
                    status,
                    log: format!("\n{}", self.log()),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(TestkitError::NotReady(format!(
            "cryptoserve on port {}:\n{}",
            self.port,
            self.log()
        )))
    }
}

fn command_for(dir: &Path, port: u16, args: &[&str]) -> Result<Command> {
    let mut command = Command::new(binary()?);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CRYPTOSERVE_DATA_DIR", dir.join("data"))
        .env("CRYPTOSERVE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CRYPTOSERVE_LOG_FORMAT", "json")
        .env("CRYPTOSERVE_SHUTDOWN_DELAY", "0")
        .args(args)
        .stdin(Stdio::null());
    Ok(command)
}

/// `GET /health/ready` answered 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Drop for CryptoServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
