//! `docker compose -f docker-compose.scale.yml up --scale backend=N`, for real: the image built
//! from the real Dockerfile and the real compose file, run under Podman by `scripts/compose`
//! (the Compose v2 binary against `podman system service`), with a steady stream of
//! encrypt → decrypt round trips through nginx over TLS while the topology changes:
//!
//! 1. up with 3 backends: health through the image's probe, readiness through nginx, a
//!    ciphertext made through nginx decrypts on every backend directly (mutual TLS);
//! 2. scale 3 → 5 → 2 under load: no failed request;
//! 3. under load, one backend crashes (SIGKILL to its process): restarted per its
//!    `restart: unless-stopped`; another gets `docker kill` (the API call `docker compose kill`
//!    makes per container): it stays stopped, as Docker documents, until `docker compose up`
//!    starts it again; no failed request throughout (nginx retries);
//! 4. uid 10001 and a read-only root filesystem in the backends;
//! 5. `docker compose down` leaves no container, network or volume of the project behind.
//!
//! Ignored by `cargo test --workspace`: it needs root, Podman, and on a fresh machine about a
//! quarter of an hour to build the images. `scripts/test` runs it as its last step, and so can
//! you: `cargo test -p cryptoserve-cluster --test compose -- --ignored --nocapture`
//! (`docs/operations/compose.md`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::api::{crypto_ok, Api};
use support::harness::wait_until;
use support::load::{Load, LoadConfig, Report};

const CONTEXT: &str = "compose-drill";

/// A project started by `scripts/compose up`; dropping it runs `scripts/compose down`.
struct Project {
    name: String,
    state: PathBuf,
    url: String,
    ca_cert: PathBuf,
    token: String,
    runtime: tokio::runtime::Runtime,
    admin: Api,
}

impl Project {
    fn up(scale: usize) -> Project {
        let name = format!("cryptoserve-test-{}", std::process::id());
        let state = std::env::temp_dir().join(format!("{name}-state"));
        let output = script(&name, &state, &["up", "--scale", &scale.to_string()]);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        print!("{stdout}");
        if !output.status.success() {
            // A half-started project must not outlive the test.
            script(&name, &state, &["down"]);
        }
        assert!(
            output.status.success(),
            "scripts/compose up failed: {}\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let line = |key: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{key} ")))
                .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
                .to_owned()
        };
        let (url, ca_cert, token) = (line("url"), PathBuf::from(line("ca")), line("token"));
        let tls = ca_cert.parent().unwrap().to_path_buf();
        let admin = Api::new(
            url.clone(),
            token.clone(),
            [&ca_cert, &tls.join("client.crt"), &tls.join("client.key")],
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Project {
            name,
            state,
            url,
            ca_cert,
            token,
            runtime,
            admin,
        }
    }

    /// `docker compose ARGS` on this project; panics unless it succeeds.
    fn compose(&self, args: &[&str]) -> String {
        let mut full = vec!["compose"];
        full.extend_from_slice(args);
        checked(script(&self.name, &self.state, &full), args)
    }

    /// `docker compose up` with `backends` backends, waiting until all are healthy: starts
    /// missing ones (also one that was killed), stops extra ones, leaves the rest alone.
    fn scale(&self, backends: usize) {
        let scale = format!("backend={backends}");
        self.compose(&[
            "up",
            "--detach",
            "--wait",
            "--no-build",
            "--pull",
            "never",
            "--no-recreate",
            "--scale",
            &scale,
        ]);
    }

    /// `podman ARGS` with the runtime settings scripts/compose uses.
    fn podman(&self, args: &[&str]) -> Output {
        let mut full = vec!["podman"];
        full.extend_from_slice(args);
        script(&self.name, &self.state, &full)
    }

    fn podman_ok(&self, args: &[&str]) -> String {
        checked(self.podman(args), args)
    }

    /// Running containers of one service, by name, in compose's numbering.
    fn containers(&self, service: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .podman_ok(&[
                "ps",
                "--filter",
                &format!("label=com.docker.compose.project={}", self.name),
                "--filter",
                &format!("label=com.docker.compose.service={service}"),
                "--format",
                "{{.Names}}",
            ])
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }

    fn inspect(&self, container: &str, format: &str) -> String {
        self.podman_ok(&["inspect", "--format", format, container])
            .trim()
            .to_owned()
    }

    /// The backend's address on the internal network (the host is on that bridge).
    fn address(&self, container: &str) -> IpAddr {
        self.inspect(
            container,
            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        )
        .split_whitespace()
        .next()
        .expect("an address")
        .parse()
        .unwrap()
    }

    /// A client for one backend's API port: mutual TLS, the name the certificate carries.
    fn backend_api(&self, container: &str) -> Api {
        let tls = self.ca_cert.parent().unwrap();
        let pem = [
            std::fs::read(tls.join("client.crt")).unwrap(),
            std::fs::read(tls.join("client.key")).unwrap(),
        ]
        .concat();
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .resolve(
                "cryptoserve-backend",
                SocketAddr::new(self.address(container), 8003),
            )
            .identity(reqwest::Identity::from_pem(&pem).unwrap());
        Api {
            client: support::trusting_only(builder, &self.ca_cert)
                .build()
                .unwrap(),
            base: "https://cryptoserve-backend:8003".into(),
            token: self.token.clone(),
        }
    }

    /// Crypto requests each running backend has answered (its ops port, plain HTTP).
    fn served(&self) -> BTreeMap<String, f64> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        self.containers("backend")
            .into_iter()
            .map(|name| {
                let url = format!("http://{}:9003/metrics", self.address(&name));
                let text = self.runtime.block_on(async {
                    match client.get(url).send().await {
                        Ok(response) => response.text().await.unwrap_or_default(),
                        Err(_) => String::new(),
                    }
                });
                (name, crypto_ok(&text))
            })
            .collect()
    }

    fn start_load(&self, name: &str) -> Load {
        let config = LoadConfig {
            url: self.url.clone(),
            ca_cert: self.ca_cert.clone(),
            token: self.token.clone(),
            context: CONTEXT.into(),
            clients: 4,
            pause: Duration::from_millis(20),
        };
        Load::start(&self.runtime, name, &config)
    }

    fn finish(&self, load: Load) -> Report {
        let report = load.stop(&self.runtime);
        println!("{report}");
        report
    }
}

impl Drop for Project {
    /// `CRYPTOSERVE_COMPOSE_KEEP=1` leaves a failed run up for a look (`scripts/compose down`
    /// with the printed state dir and project afterwards).
    fn drop(&mut self) {
        if std::env::var_os("CRYPTOSERVE_COMPOSE_KEEP").is_some() && std::thread::panicking() {
            eprintln!(
                "kept: CRYPTOSERVE_COMPOSE_STATE={} CRYPTOSERVE_COMPOSE_PROJECT={}",
                self.state.display(),
                self.name
            );
            return;
        }
        if self.state.exists() {
            let output = script(&self.name, &self.state, &["down"]);
            if !output.status.success() {
                eprintln!(
                    "scripts/compose down: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }
}

/// `scripts/compose ARGS` for this project and state dir.
fn script(project: &str, state: &Path, args: &[&str]) -> Output {
    Command::new(support::repo_root().join("scripts/compose"))
        .args(args)
        .env("CRYPTOSERVE_COMPOSE_PROJECT", project)
        .env("CRYPTOSERVE_COMPOSE_STATE", state)
        .output()
        .expect("running scripts/compose")
}

fn checked(output: Output, args: &[&str]) -> String {
    assert!(
        output.status.success(),
        "{args:?} failed: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
#[ignore = "needs root and Podman, and builds container images: run it with --ignored"]
fn compose_topology_scales_and_survives_a_kill() {
    let started = Instant::now();
    let project = Project::up(3);
    println!("up in {:.1} s", started.elapsed().as_secs_f64());

    up_with_three_backends(&project);
    scale_under_load(&project);
    kill_under_load(&project);
    hardened_containers(&project);
    down_leaves_nothing(project);
    println!(
        "compose drills done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn up_with_three_backends(project: &Project) {
    let backends = project.containers("backend");
    assert_eq!(backends.len(), 3, "{backends:?}");
    // The image carries the probe as its HEALTHCHECK; compose asks the same probe for readiness.
    let image = project.inspect(&backends[0], "{{.Image}}");
    let image_check = project.podman_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Healthcheck.Test}}",
        &image,
    ]);
    assert!(
        image_check.contains("cryptoserve-healthcheck") && image_check.contains("/health/live"),
        "image HEALTHCHECK: {image_check}"
    );
    for backend in &backends {
        assert_eq!(
            project.inspect(backend, "{{.State.Health.Status}}"),
            "healthy"
        );
        let test = project.inspect(backend, "{{json .Config.Healthcheck.Test}}");
        assert!(
            test.contains("cryptoserve-healthcheck"),
            "{backend}: {test}"
        );
    }
    let nginx = &project.containers("nginx")[0];
    assert_eq!(
        project.inspect(nginx, "{{.State.Health.Status}}"),
        "healthy"
    );
    println!("  {backends:?} and {nginx} healthy (image HEALTHCHECK {image_check})");

    let ready = project.runtime.block_on(project.admin.ready());
    assert_eq!(ready.status, 200, "readiness through nginx: {ready:?}");

    project
        .runtime
        .block_on(project.admin.prepare_drill(CONTEXT));

    let encrypted = project.runtime.block_on(project.admin.send(
        reqwest::Method::POST,
        "/api/v1/crypto/encrypt",
        Some(json!({ "context": CONTEXT, "plaintext": "aGVsbG8gY29tcG9zZQ==" })),
    ));
    assert_eq!(
        encrypted.status, 200,
        "encrypt through nginx: {encrypted:?}"
    );
    let ciphertext = encrypted.body["ciphertext"].as_str().unwrap().to_owned();
    for backend in &backends {
        let api = project.backend_api(backend);
        let mut answer = project.runtime.block_on(api.decrypt(CONTEXT, &ciphertext));
        // A backend learns of a new context at its next metadata poll (1 s) or on a miss.
        for _ in 0..10 {
            if answer.status == 200 {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
            answer = project.runtime.block_on(api.decrypt(CONTEXT, &ciphertext));
        }
        assert_eq!(answer.status, 200, "decrypt on {backend}: {answer:?}");
        assert_eq!(
            answer.body["plaintext"],
            Value::from("aGVsbG8gY29tcG9zZQ=="),
            "{backend}"
        );
    }
    println!("  encrypted through nginx, decrypted on each of {backends:?} directly");
}

fn scale_under_load(project: &Project) {
    let load = project.start_load("compose: scale 3 → 5 → 2");
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    project.scale(5);
    println!("  scaled to 5 in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(project.containers("backend").len(), 5);
    // nginx re-resolves `backend` every 2 s: the new replicas get requests without a reload.
    let before = project.served();
    wait_until(
        Duration::from_secs(30),
        "requests on every new backend",
        || {
            let now = project.served();
            now.iter()
                .all(|(name, count)| *count > before.get(name).copied().unwrap_or(0.0) + 10.0)
        },
    );
    println!("  crypto requests per backend: {:?}", project.served());
    let started = Instant::now();
    project.scale(2);
    println!("  scaled to 2 in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(project.containers("backend").len(), 2);
    std::thread::sleep(Duration::from_secs(6));
    let report = project.finish(load);
    report.assert_no_failures(200);
}

fn restarts(project: &Project, container: &str) -> u64 {
    project
        .inspect(container, "{{.RestartCount}}")
        .parse()
        .unwrap()
}

fn healthy(project: &Project, container: &str) -> bool {
    project.inspect(container, "{{.State.Status}} {{.State.Health.Status}}") == "running healthy"
}

fn kill_under_load(project: &Project) {
    let backends = project.containers("backend");
    let (crashed, killed) = (&backends[0], backends.last().unwrap());
    assert_ne!(crashed, killed, "{backends:?}");
    let load = project.start_load("compose: crash one backend, docker kill another");

    // A crash (SIGKILL to the process, as the OOM killer sends): restarted per the policy.
    let before = restarts(project, crashed);
    std::thread::sleep(Duration::from_secs(2));
    checked(
        script(&project.name, &project.state, &["crash", crashed]),
        &["crash"],
    );
    let started = Instant::now();
    wait_until(
        Duration::from_secs(90),
        "the crashed backend restarted and healthy",
        || restarts(project, crashed) > before && healthy(project, crashed),
    );
    let after = restarts(project, crashed);
    println!(
        "  {crashed} crashed: restart count {before} → {after}, healthy again after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if after > before + 1 {
        // More than one start was needed: say why (the server's fatal errors start `cryptoserve:`).
        let logs = project.podman(&["logs", "--tail", "500", crashed]);
        let text = String::from_utf8_lossy(&logs.stderr).into_owned()
            + &String::from_utf8_lossy(&logs.stdout);
        for line in text
            .lines()
            .filter(|line| line.starts_with("cryptoserve:"))
            .take(3)
        {
            println!("    {line}");
        }
    }
    std::thread::sleep(Duration::from_secs(6));

    // `docker kill` (the call `docker compose kill` makes per container): like Docker, the
    // engine leaves a container it was told to kill stopped until the next start, which
    // `docker compose up` does.
    let before = restarts(project, killed);
    checked(
        script(&project.name, &project.state, &["kill", killed]),
        &["kill"],
    );
    std::thread::sleep(Duration::from_secs(5));
    let state = project.inspect(killed, "{{.State.Status}} {{.RestartCount}}");
    assert_eq!(
        state,
        format!("exited {before}"),
        "{killed} after docker kill"
    );
    let started = Instant::now();
    project.scale(2);
    assert!(healthy(project, killed), "{killed} after compose up");
    println!(
        "  {killed} killed: stayed exited (restart count {before}), compose up had it healthy in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(6));
    let report = project.finish(load);
    report.assert_no_failures(100);
}

fn hardened_containers(project: &Project) {
    let backend = &project.containers("backend")[0];
    let uid = project.podman_ok(&["exec", backend, "id", "-u"]);
    assert_eq!(uid.trim(), "10001");
    assert_eq!(
        project.inspect(backend, "{{.HostConfig.ReadonlyRootfs}}"),
        "true"
    );
    // As root inside, so only the read-only mount can refuse (not file permissions).
    let write = project.podman(&["exec", "--user", "0", backend, "bash", "-c", ": > /probe"]);
    let stderr = String::from_utf8_lossy(&write.stderr);
    assert!(
        !write.status.success() && stderr.contains("Read-only file system"),
        "writing to / in {backend}: {} {stderr}",
        write.status
    );
    let tmp = project.podman(&["exec", backend, "bash", "-c", ": > /tmp/probe"]);
    assert!(tmp.status.success(), "/tmp is a tmpfs and writable");
    println!(
        "  {backend}: uid 10001, root filesystem read-only ({})",
        stderr.trim()
    );
}

fn down_leaves_nothing(project: Project) {
    let label = format!("label=com.docker.compose.project={}", project.name);
    project.compose(&["down", "--volumes", "--timeout", "60"]);
    for kind in ["container", "network", "volume"] {
        let mut args = vec![kind, "ls", "--quiet", "--filter", &label];
        if kind == "container" {
            args.push("--all");
        }
        let left = project.podman_ok(&args);
        assert!(left.trim().is_empty(), "{kind}s left after down: {left}");
    }
    println!("  docker compose down: no container, network or volume of the project left");
    drop(project);
}
