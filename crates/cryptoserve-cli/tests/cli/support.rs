//! A real `cryptoserve serve` per test (free loopback port, fresh data directory, admin token
//! from the offline `cryptoserve identity create`), and helpers to run `cs` against it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cryptoserve_testkit::cryptoserve::CryptoServe;

/// What one `cs` run produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Stderr as text.
    pub stderr: String,
}

impl Run {
    /// Stdout as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// Asserts success and returns self.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "cs failed: {}", self.stderr);
        self
    }
}

/// A running server (the real binary, see `cryptoserve_testkit::cryptoserve`), killed when
/// dropped.
pub struct Server {
    _process: CryptoServe,
    scratch: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// An admin token for it.
    pub admin_token: String,
}

impl Server {
    /// Starts a server, waits until it is ready, and raises the default rate limits so the
    /// tests' bursts are not refused (the test that wants 429 sets its own).
    pub fn start() -> Server {
        let process = CryptoServe::start().unwrap();
        let server = Server {
            address: process.address.clone(),
            admin_token: process.admin_token.clone(),
            _process: process,
            scratch: tempfile::tempdir().unwrap(),
        };
        for dimension in ["ip", "identity", "context"] {
            server
                .cs(&["rate-limit", "set", "--default", dimension])
                .args(["--requests-per-minute", "600000", "--burst", "10000"])
                .run()
                .ok();
        }
        server
    }

    /// `cs ARGS` against this server with the admin token (from the environment, as a user
    /// would set it), nothing else of the caller's environment.
    pub fn cs(&self, args: &[&str]) -> Cs {
        self.cs_as(&self.admin_token, args)
    }

    /// `cs ARGS` against this server with `token`.
    pub fn cs_as(&self, token: &str, args: &[&str]) -> Cs {
        let mut cs = Cs::new(args);
        cs.command
            .env("CRYPTOSERVE_ADDR", &self.address)
            .env("CRYPTOSERVE_TOKEN", token);
        cs
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self._process.log()
    }

    /// A scratch directory that lives as long as the server.
    pub fn scratch(&self) -> PathBuf {
        let path = self.scratch.path().join("scratch");
        std::fs::create_dir_all(&path).unwrap();
        path
    }
}

/// One `cs` invocation being prepared.
pub struct Cs {
    /// The process to run.
    pub command: Command,
    stdin: Vec<u8>,
}

impl Cs {
    /// `cs ARGS` with an empty environment (no profile file, no stray `CRYPTOSERVE_*`).
    pub fn new(args: &[&str]) -> Cs {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cs"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(args);
        Cs {
            command,
            stdin: Vec::new(),
        }
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Cs
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Bytes for stdin.
    pub fn stdin(mut self, bytes: &[u8]) -> Cs {
        self.stdin = bytes.to_vec();
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Run {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = std::mem::take(&mut self.stdin);
        // Written from a thread so a large input cannot deadlock against a full stdout pipe.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        finished(output)
    }

    /// Runs with stdin, stdout and stderr detached from pipes, polling the process's peak
    /// resident set (`VmHWM`) while it runs; returns the run and the peak in bytes.
    pub fn run_measuring_peak_rss(mut self) -> (Run, u64) {
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status_path = format!("/proc/{}/status", child.id());
        let mut peak_kib = 0u64;
        let status = loop {
            // Read before reaping: once waited for, the process's memory figures are gone.
            if let Ok(text) = std::fs::read_to_string(&status_path) {
                if let Some(kib) = vm_hwm_kib(&text) {
                    peak_kib = peak_kib.max(kib);
                }
            }
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: Vec::new(),
            stderr,
        };
        (run, peak_kib * 1024)
    }
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn finished(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A loopback address nothing listens on.
pub fn dead_address() -> String {
    let port = cryptoserve_testkit::net::free_port().unwrap();
    format!("http://127.0.0.1:{port}")
}

/// Creates context `name` through `cs`.
pub fn create_context(server: &Server, name: &str) {
    server.cs(&["context", "create", name]).run().ok();
}
