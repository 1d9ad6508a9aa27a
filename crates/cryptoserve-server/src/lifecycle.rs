//! Process lifecycle facts shared by health checks and shutdown: start time and draining.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Start time and the draining flag.
#[derive(Debug)]
pub struct Lifecycle {
    started: Instant,
    draining: AtomicBool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// Now, not draining.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            draining: AtomicBool::new(false),
        }
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Readiness turns 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}
