//! The fault injections and topology changes the drills (and an operator) use: crash or
//! drain a backend, start it again, scale, stop PostgreSQL (Redis faults are in `redis.rs`).
//! Each keeps `state.json` current.

use std::net::SocketAddr;
use std::process::ExitStatus;

use super::Cluster;
use crate::backend::Backend;
use crate::error::{ClusterError, Result};

impl Cluster {
    /// SIGKILLs backend `index`, as a crash would. nginx is not told: it finds out from the
    /// refused connections, exactly as in production.
    pub fn kill_backend(&mut self, index: usize) -> Result<()> {
        self.backend_mut(index)?.kill()?;
        self.write_state()
    }

    /// SIGTERMs backend `index` and waits for it to drain and exit. nginx keeps it in its list
    /// (a rolling update looks like this to the balancer).
    pub fn terminate_backend(&mut self, index: usize) -> Result<ExitStatus> {
        let timeout = self.terminate_timeout;
        let status = self.backend_mut(index)?.terminate(timeout)?;
        self.write_state()?;
        Ok(status)
    }

    /// Starts a stopped backend again on its old port.
    pub fn restart_backend(&mut self, index: usize) -> Result<()> {
        let env = &self.env;
        self.backends
            .get_mut(index)
            .ok_or(ClusterError::NoSuchBackend(index))?
            .restart(env)?;
        self.write_state()
    }

    /// Starts one more backend, waits until it is ready, adds it to nginx and reloads.
    /// Returns its index.
    pub fn add_backend(&mut self) -> Result<usize> {
        let index = self.start_backend()?;
        self.reload_nginx()?;
        self.write_state()?;
        Ok(index)
    }

    /// Takes backend `index` out of nginx (reload), then SIGTERMs it and waits for the drain.
    pub fn remove_backend(&mut self, index: usize) -> Result<ExitStatus> {
        self.backend_mut(index)?.in_pool = false;
        self.reload_nginx()?;
        self.terminate_backend(index)
    }

    /// Scales to `count` running backends in nginx's pool. Crashed backends leave the pool;
    /// new ones join only once ready; surplus ones leave the pool before they are terminated,
    /// so no request is sent to a backend that is going away.
    pub fn set_backends(&mut self, count: usize) -> Result<()> {
        if count == 0 {
            return Err(ClusterError::Invalid(
                "a cluster needs at least one backend".into(),
            ));
        }
        for backend in &mut self.backends {
            if backend.in_pool && !backend.is_running() {
                backend.in_pool = false;
            }
        }
        let pool: Vec<usize> = self.pool_indices();
        if pool.len() < count {
            for _ in pool.len()..count {
                self.start_backend()?;
            }
            self.reload_nginx()?;
        } else if pool.len() > count {
            let surplus = pool.get(count..).unwrap_or_default().to_vec();
            for &index in &surplus {
                self.backend_mut(index)?.in_pool = false;
            }
            self.reload_nginx()?;
            for index in surplus {
                self.terminate_backend(index)?;
            }
        }
        self.write_state()
    }

    /// Rewrites nginx's upstream list from the backends in the pool and reloads; returns once
    /// new connections are served by the new configuration.
    pub fn reload_nginx(&mut self) -> Result<()> {
        self.nginx.set_upstreams(pool_addrs(&self.backends))?;
        Ok(())
    }

    /// Stops PostgreSQL (fast shutdown: open connections are cut) and leaves it down.
    pub fn stop_postgres(&mut self) -> Result<()> {
        self.postgres.stop()?;
        Ok(())
    }

    /// Starts PostgreSQL again with the same data and port.
    pub fn start_postgres(&mut self) -> Result<()> {
        self.postgres.start_again()?;
        self.write_state()
    }

    fn start_backend(&mut self) -> Result<usize> {
        let index = self.backends.len();
        let mut backend = Backend::start(&self.env, index, self.state_dir.path())?;
        backend.in_pool = true;
        self.backends.push(backend);
        Ok(index)
    }

    fn backend_mut(&mut self, index: usize) -> Result<&mut Backend> {
        self.backends
            .get_mut(index)
            .ok_or(ClusterError::NoSuchBackend(index))
    }

    fn pool_indices(&self) -> Vec<usize> {
        self.backends
            .iter()
            .filter(|backend| backend.in_pool)
            .map(Backend::index)
            .collect()
    }
}

/// `127.0.0.1:port` of every backend in nginx's pool.
pub(super) fn pool_addrs(backends: &[Backend]) -> Vec<SocketAddr> {
    backends
        .iter()
        .filter(|backend| backend.in_pool())
        .map(|backend| SocketAddr::from(([127, 0, 0, 1], backend.port())))
        .collect()
}
