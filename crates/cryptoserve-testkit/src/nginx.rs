//! An nginx master process running the repository's own `nginx.scale.conf` over loopback
//! backends, for tests and the local cluster launcher.
//!
//! `nginx.scale.conf` keeps everything that differs between deployments in files beside itself:
//! two includes in `nginx/` (`upstreams.conf`, `listen.conf`) and the TLS files in `tls/`
//! (`ca.crt`, `server.crt`/`.key` for clients, `client.crt`/`.key` for the backends, which it
//! reaches over mutual TLS), and writes pid, logs and temp files relative to the `-p` prefix. So
//! [`Nginx::start`] copies the main config unchanged into a fresh temp dir, copies the TLS files
//! into its `tls/` (`tls.rs`), writes its own `nginx/upstreams.conf` and `nginx/listen.conf`
//! (`listen 127.0.0.1:<port> ssl`, `layout.rs`), checks the result with `nginx -t` and runs the
//! master in the foreground (`daemon off`) as a child process. [`Nginx::set_upstreams`]
//! rewrites the upstream file and reloads; the generated `listen.conf` also carries a tiny
//! generation endpoint, fetched over HTTPS with the test CA, so start and reload can be
//! observed instead of slept on.
//!
//! The backends must speak TLS with a certificate from the same CA valid for
//! `cryptoserve-backend`, which is what nginx verifies (`proxy_ssl_name`); the testkit does not
//! start backends itself.

mod layout;
mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::{io_err, Result, TestkitError};
use layout::{Http2Syntax, Layout};

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
    /// A directory laid out as `cryptoserve tls dev-cert --out` writes it. nginx gets copies
    /// of `ca.crt` (verifies the backends), `server.crt`/`server.key` (shown to clients; must
    /// chain to `ca.crt` and be valid for `localhost`, which the readiness probe checks) and
    /// `client.crt`/`client.key` (shown to the backends). `ca.key` is never read.
    pub tls_dir: PathBuf,
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
    /// HTTPS client trusting the test CA, for the generation endpoint.
    probe: tls::Probe,
    /// Where the TLS files came from, for error messages.
    tls_source: PathBuf,
}

impl Nginx {
    /// Prepares a prefix dir with the TLS files, validates the config with `nginx -t` and
    /// starts the master; returns once nginx answers over TLS.
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
        tls::install(&config.tls_dir, prefix.path())?;
        let probe = tls::Probe::trusting(&prefix.path().join(tls::TLS_SUBDIR).join(tls::CA_FILE))?;
        let conf = prefix.path().join("nginx.scale.conf");
        std::fs::copy(&config.main_conf, &conf).map_err(io_err(format!(
            "copying {} into the nginx prefix",
            config.main_conf.display()
        )))?;

        let layout = Layout {
            prefix,
            http2: Http2Syntax::of(&binary),
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
            probe,
            tls_source: config.tls_dir,
        };
        nginx.wait_for_generation(generation)?;
        tracing::debug!(port = nginx.port(), prefix = %nginx.layout.prefix.path().display(), "nginx started");
        Ok(nginx)
    }

    /// Starts nginx on a port from [`crate::net::free_port`]. If another process took that
    /// port before nginx could bind it, nginx exits with "Address already in use"; it is then
    /// started again on a new port, up to [`START_ATTEMPTS`] times.
    pub fn start_on_free_port(
        upstreams: Vec<SocketAddr>,
        main_conf: PathBuf,
        tls_dir: PathBuf,
    ) -> Result<Nginx> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let config = NginxConfig {
                listen_port: crate::net::free_port()?,
                upstreams: upstreams.clone(),
                main_conf: main_conf.clone(),
                tls_dir: tls_dir.clone(),
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

    /// Base URL, e.g. `https://127.0.0.1:41234`; nginx's certificate is from the CA in
    /// [`Nginx::ca_cert_path`].
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.layout.port)
    }

    /// nginx's copy of the CA certificate (`<prefix>/tls/ca.crt`), for clients to trust.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.layout
            .prefix
            .path()
            .join(tls::TLS_SUBDIR)
            .join(tls::CA_FILE)
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

    /// Polls the generation endpoint on fresh HTTPS connections until it answers
    /// `generation` [`GENERATION_CONFIRMATIONS`] times in a row.
    fn wait_for_generation(&mut self, generation: u64) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let expected = generation.to_string();
        let mut confirmations = 0;
        let mut last_answer = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.master.try_wait() {
                return Err(TestkitError::CommandFailed {
                    command: "nginx -g 'daemon off;'".to_owned(),
                    output: format!("exited with {status}; {}", self.error_log_tail()),
                });
            }
            match self.probe.get(self.layout.port, GENERATION_PATH) {
                Ok(body) if body == expected => {
                    confirmations += 1;
                    if confirmations >= GENERATION_CONFIRMATIONS {
                        return Ok(());
                    }
                }
                Ok(body) => {
                    confirmations = 0;
                    last_answer = format!("generation {body}");
                }
                Err(tls::ProbeFailure::NotYet(reason)) => {
                    confirmations = 0;
                    last_answer = reason;
                }
                Err(tls::ProbeFailure::Certificate(reason)) => {
                    return Err(TestkitError::Tls {
                        path: self.tls_source.join("server.crt"),
                        reason: format!(
                            "{reason} (the probe trusts ca.crt and connects to `localhost`)"
                        ),
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(TestkitError::NotReady(format!(
            "nginx (config generation {generation}) on port {}; last probe: {last_answer}; {}",
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

/// Finds `nginx` on `PATH` or in the sbin dirs a non-root `PATH` often lacks.
fn find_nginx() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| TestkitError::MissingBinary("nginx".to_owned()))
}

fn set_mode_755(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(io_err(format!("chmod 755 {}", path.display())))
}
