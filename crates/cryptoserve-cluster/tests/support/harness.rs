//! The drills' shared state: one cluster, the test's own runtime for HTTP, the admin API
//! through nginx, the load settings and the ciphertexts collected for the cross-instance
//! drill; plus the setup every drill relies on and small waiting helpers.

use std::time::{Duration, Instant};

use cryptoserve_cluster::{Cluster, ClusterOptions};

use super::api::Api;
use super::load::{Load, LoadConfig, Report};

/// The context every drill encrypts in.
pub const CONTEXT: &str = "drills";

/// The cluster, the test's own runtime for HTTP, and the admin API through nginx.
pub struct Drills {
    pub cluster: Cluster,
    pub runtime: tokio::runtime::Runtime,
    pub admin: Api,
    pub load: LoadConfig,
    pub ciphertexts: Vec<(Vec<u8>, String)>,
}

/// The drills' topology: three backends behind nginx, short shutdown delays.
pub fn three_backends() -> Cluster {
    Cluster::up(drill_options()).expect("cluster starts")
}

/// [`three_backends`]'s options, for drills that change one thing (Redis topology, say).
pub fn drill_options() -> ClusterOptions {
    ClusterOptions {
        backends: 3,
        server_binary: super::server_binary(),
        repo_root: super::repo_root(),
        shutdown_delay_secs: 1,
        shutdown_timeout_secs: 10,
        ..ClusterOptions::default()
    }
}

impl Drills {
    /// The test's runtime, the admin API through nginx (trusting only the cluster's CA, with
    /// its client certificate for direct backend calls) and a steady load using `load_token`.
    pub fn new(cluster: Cluster, load_token: String) -> Drills {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(3)
            .enable_all()
            .build()
            .unwrap();
        let tls = [
            cluster.ca_cert_path(),
            cluster.client_cert_path(),
            cluster.client_key_path(),
        ];
        let admin = Api::new(
            cluster.url(),
            cluster.admin_token(),
            [&tls[0], &tls[1], &tls[2]],
        );
        let load = LoadConfig {
            url: cluster.url(),
            ca_cert: cluster.ca_cert_path(),
            token: load_token,
            context: CONTEXT.to_owned(),
            clients: 6,
            pause: Duration::from_millis(20),
        };
        Drills {
            cluster,
            runtime,
            admin,
            load,
            ciphertexts: Vec::new(),
        }
    }

    /// Starts the steady encrypt → decrypt load through nginx.
    pub fn start_load(&self, name: &str) -> Load {
        Load::start(&self.runtime, name, &self.load)
    }

    /// Stops the load, prints the figures and keeps the ciphertexts for drill 6.
    pub fn finish(&mut self, load: Load) -> Report {
        let mut report = load.stop(&self.runtime);
        println!("{report}");
        self.ciphertexts.append(&mut report.ciphertexts);
        report
    }

    /// Backend `index`'s API, directly (`https://`, with the client certificate).
    pub fn backend_api(&self, index: usize) -> Api {
        self.admin.at(self.cluster.backend(index).unwrap().url())
    }

    /// Backend `index`'s plain ops listener (`/health/*`, `/metrics`).
    pub fn ops_api(&self, index: usize) -> Api {
        self.admin
            .at(self.cluster.backend(index).unwrap().ops_url())
    }

    /// Backend `index`'s `/metrics`, from its ops port.
    pub fn metrics(&self, index: usize) -> String {
        self.runtime.block_on(self.ops_api(index).metrics())
    }

    /// Indices of the backends running now.
    pub fn running(&self) -> Vec<usize> {
        self.cluster
            .backends()
            .iter()
            .filter(|backend| backend.is_running())
            .map(|backend| backend.index())
            .collect()
    }
}

/// Limits out of the way (the drills measure availability), and the drill context.
pub fn setup(drills: &Drills) {
    drills.runtime.block_on(drills.admin.prepare_drill(CONTEXT));
    // Every backend learns about the new context from the database; wait until each can use it.
    for index in drills.running() {
        let api = drills.backend_api(index);
        wait_until(
            Duration::from_secs(15),
            "context visible on every backend",
            || {
                let body = serde_json::json!({ "context": CONTEXT, "plaintext": "aGk=" });
                let answer = drills.runtime.block_on(api.send(
                    reqwest::Method::POST,
                    "/api/v1/crypto/encrypt",
                    Some(body),
                ));
                answer.status == 200
            },
        );
    }
}

/// Requests in nginx's access log that went to more than one backend (`upstream_addr` lists
/// every backend tried) and still ended in 200.
pub fn retried_in_access_log(cluster: &Cluster) -> usize {
    let log = std::fs::read_to_string(cluster.nginx_access_log()).unwrap_or_default();
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["status"] == 200)
        .filter(|entry| {
            entry["upstream_addr"]
                .as_str()
                .is_some_and(|addr| addr.contains(','))
        })
        .count()
}

pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for: {what}");
}
