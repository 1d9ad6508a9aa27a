//! An nginx master process running the repository's own `nginx.scale.conf` over loopback
//! backends, for tests and the local cluster launcher.
//!
//! `nginx.scale.conf` keeps everything that differs between deployments in two files it
//! includes from `nginx/` beside itself (`upstreams.conf`, `listen.conf`) and writes pid, logs
//! and temp files relative to the `-p` prefix. So [`Nginx::start`] copies the main config
//! unchanged into a fresh temp dir, writes its own `nginx/upstreams.conf` and
//! `nginx/listen.conf` there, checks the result with `nginx -t` and runs the master in the
//! foreground (`daemon off`) as a child process. [`Nginx::set_upstreams`] rewrites the upstream
//! file and reloads; the generated `listen.conf` also carries a tiny generation endpoint so the
//! reload can be observed instead of slept on.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{io_err, Result, TestkitError};

/// How many ports [`Nginx::start_on_free_port`] tries.
const START_ATTEMPTS: usize = 4;
/// How long nginx gets to start, reload or stop.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Internal path, served by nginx itself, that answers the config generation.
const GENERATION_PATH: &str = "/__testkit/generation";
/// Fresh connections in a row that must see the new generation before a reload counts as
/// done: for about 100 ms after a reload, old and new workers both accept.
const GENERATION_CONFIRMATIONS: usize = 10;

/// What to run nginx with.
#[derive(Debug, Clone)]
pub struct NginxConfig {
    /// Loopback port nginx listens on (take one from [`crate::net::free_port`]).
    pub listen_port: u16,
    /// Backend addresses; an empty list gives an upstream whose only server is marked `down`,
    /// so every proxied request gets nginx's own 502.
    pub upstreams: Vec<SocketAddr>,
    /// Path to the repository's `nginx.scale.conf`; used as is, never edited.
    pub main_conf: PathBuf,
}

/// A running nginx; stopped (fast shutdown) when dropped.
#[derive(Debug)]
pub struct Nginx {
    /// Where its files live and how to invoke it.
    layout: Layout,
    /// Bumped on every reload and served at [`GENERATION_PATH`].
    generation: u64,
    /// The master process.
    master: Child,
}

/// The prefix dir and the nginx invocation that goes with it.
#[derive(Debug)]
struct Layout {
    /// Prefix directory holding the config copy, includes, pid, logs and temp files.
    prefix: tempfile::TempDir,
    /// The nginx binary we found, reused for `-t` and `-s`.
    binary: PathBuf,
    /// The copied main config inside `prefix`.
    conf: PathBuf,
    /// Where nginx listens.
    port: u16,
}

impl Nginx {
    /// Prepares a prefix dir, validates the config with `nginx -t` and starts the master.
    pub fn start(config: NginxConfig) -> Result<Nginx> {
        let binary = find_nginx()?;
        let prefix = tempfile::Builder::new()
            .prefix("cryptoserve-nginx-")
            .tempdir()
            .map_err(io_err("creating the nginx prefix dir"))?;
        // Workers run as `nobody` when we are root; they must reach the temp dirs inside.
        set_mode_755(prefix.path())?;
        let includes = prefix.path().join("nginx");
        std::fs::create_dir(&includes).map_err(io_err("creating the nginx include dir"))?;
        let conf = prefix.path().join("nginx.scale.conf");
        std::fs::copy(&config.main_conf, &conf).map_err(io_err(format!(
            "copying {} into the nginx prefix",
            config.main_conf.display()
        )))?;

        let layout = Layout {
            prefix,
            binary,
            conf,
            port: config.listen_port,
        };
        let generation = 0;
        layout.write_includes(&config.upstreams, generation)?;
        layout.run_control(&["-t"])?;
        let master = layout
            .command()
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_err("spawning nginx"))?;
        let mut nginx = Nginx {
            layout,
            generation,
            master,
        };
        nginx.wait_for_generation(generation)?;
        tracing::debug!(port = nginx.port(), prefix = %nginx.layout.prefix.path().display(), "nginx started");
        Ok(nginx)
    }

    /// Starts nginx on a port from [`crate::net::free_port`]. If another process took that
    /// port before nginx could bind it, nginx exits with "Address already in use"; it is then
    /// started again on a new port, up to [`START_ATTEMPTS`] times.
    pub fn start_on_free_port(upstreams: Vec<SocketAddr>, main_conf: PathBuf) -> Result<Nginx> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let config = NginxConfig {
                listen_port: crate::net::free_port()?,
                upstreams: upstreams.clone(),
                main_conf: main_conf.clone(),
            };
            match Nginx::start(config) {
                Err(TestkitError::CommandFailed { output, .. })
                    if attempts < START_ATTEMPTS && output.contains("Address already in use") =>
                {
                    tracing::warn!(%output, "nginx could not bind its port, retrying");
                }
                other => return other,
            }
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.layout.port)
    }

    /// The port nginx listens on.
    pub fn port(&self) -> u16 {
        self.layout.port
    }

    /// The JSON access log (`access.log` in the prefix, as `nginx.scale.conf` names it).
    pub fn access_log_path(&self) -> PathBuf {
        self.layout.prefix.path().join("access.log")
    }

    /// nginx's error log, useful when a test fails.
    pub fn error_log_path(&self) -> PathBuf {
        self.layout.error_log_path()
    }

    /// Replaces the backend list and reloads; returns once new connections are served by
    /// workers running the new list. An invalid config leaves the running one untouched.
    pub fn set_upstreams(&mut self, upstreams: Vec<SocketAddr>) -> Result<()> {
        self.generation += 1;
        self.layout.write_includes(&upstreams, self.generation)?;
        self.layout.run_control(&["-t"])?;
        self.layout.run_control(&["-s", "reload"])?;
        self.wait_for_generation(self.generation)
    }

    /// Polls the generation endpoint on fresh connections until it answers `generation`
    /// [`GENERATION_CONFIRMATIONS`] times in a row.
    fn wait_for_generation(&mut self, generation: u64) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let expected = generation.to_string();
        let mut confirmations = 0;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.master.try_wait() {
                return Err(TestkitError::CommandFailed {
                    command: "nginx -g 'daemon off;'".to_owned(),
                    output: format!("exited with {status}; {}", self.error_log_tail()),
                });
            }
            if fetch_generation(self.layout.port).as_deref() == Some(expected.as_str()) {
                confirmations += 1;
                if confirmations >= GENERATION_CONFIRMATIONS {
                    return Ok(());
                }
            } else {
                confirmations = 0;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(TestkitError::NotReady(format!(
            "nginx (config generation {generation}) on port {}; {}",
            self.layout.port,
            self.error_log_tail()
        )))
    }

    /// The end of the error log, for error messages.
    fn error_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.error_log_path()).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        let tail = log.get(start..).unwrap_or(&log);
        format!("error.log: {tail}")
    }
}

impl Layout {
    /// `nginx -p <prefix>/ -c <conf> -e <error log>`, the base of every invocation.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        // nginx wants the trailing slash on the prefix.
        let prefix = format!("{}/", self.prefix.path().display());
        command
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&self.conf)
            .arg("-e")
            .arg(self.error_log_path());
        command
    }

    /// Runs a short-lived nginx invocation (`-t`, `-s reload`, ...) and fails on non-zero exit.
    fn run_control(&self, args: &[&str]) -> Result<()> {
        let output = self
            .command()
            .args(args)
            .output()
            .map_err(io_err(format!("running nginx {}", args.join(" "))))?;
        if output.status.success() {
            return Ok(());
        }
        Err(TestkitError::CommandFailed {
            command: format!("nginx {}", args.join(" ")),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }

    /// Writes `nginx/upstreams.conf` and `nginx/listen.conf`, each via rename so a reload never
    /// reads half a file.
    fn write_includes(&self, upstreams: &[SocketAddr], generation: u64) -> Result<()> {
        let mut servers = String::from("# Generated by cryptoserve-testkit.\n");
        if upstreams.is_empty() {
            // nginx refuses an upstream block without servers.
            servers.push_str("server 127.0.0.1:9 down;\n");
        }
        for addr in upstreams {
            let _ = writeln!(servers, "server {addr};");
        }
        let listen = format!(
            "# Generated by cryptoserve-testkit.\n\
             listen 127.0.0.1:{port};\n\
             location = {GENERATION_PATH} {{\n    access_log off;\n    return 200 '{generation}';\n}}\n",
            port = self.port,
        );
        let dir = self.prefix.path().join("nginx");
        write_atomically(&dir.join("upstreams.conf"), &servers)?;
        write_atomically(&dir.join("listen.conf"), &listen)
    }

    fn error_log_path(&self) -> PathBuf {
        self.prefix.path().join("error.log")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Fast shutdown (SIGTERM): the master stops its workers. Killing only the master would
        // leave the workers running.
        let _ = self.layout.run_control(&["-s", "stop"]);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.master.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!("nginx did not stop in time; killing the master");
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}

/// `GET` the generation endpoint on a new connection; `None` on any failure.
fn fetch_generation(port: u16) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    let request =
        format!("GET {GENERATION_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    if !response.starts_with("HTTP/1.1 200") {
        return None;
    }
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some(body.trim().to_owned())
}

/// Finds `nginx` on `PATH` or in the sbin dirs a non-root `PATH` often lacks.
fn find_nginx() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| TestkitError::MissingBinary("nginx".to_owned()))
}

fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let staging = path.with_extension("conf.new");
    std::fs::write(&staging, contents).map_err(io_err(format!("writing {}", staging.display())))?;
    std::fs::rename(&staging, path).map_err(io_err(format!("renaming to {}", path.display())))
}

fn set_mode_755(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err(format!("chmod 755 {}", path.display())))
}
