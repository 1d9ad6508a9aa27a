//! RSS and CPU time of the processes under test, from `/proc` (Linux only).
//!
//! A [`Sampler`] reads CPU ticks once at the start and once at the end of a measured run,
//! and VmRSS every [`SAMPLE_EVERY`] in between, keeping the maximum per process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often RSS is sampled during a run.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Which processes a run is charged to.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// CryptoServe instances: their CPU is summed, their RSS reported per instance.
    pub servers: Vec<u32>,
    /// Everything else on the request path: nginx (master and workers), Redis, PostgreSQL.
    pub auxiliary: Vec<u32>,
}

/// What a run cost the watched processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// CPU seconds (user + system) used by all server instances together.
    pub server_cpu_secs: f64,
    /// CPU seconds used by the auxiliary processes together.
    pub auxiliary_cpu_secs: f64,
    /// Largest VmRSS any one server instance reached, in KiB.
    pub max_server_rss_kib: u64,
}

/// A running measurement; [`Sampler::finish`] stops it.
#[derive(Debug)]
pub struct Sampler {
    watch: Watch,
    ticks_at_start: HashMap<u32, u64>,
    stop: Arc<AtomicBool>,
    rss_thread: JoinHandle<HashMap<u32, u64>>,
}

impl Sampler {
    /// Starts sampling `watch`.
    pub fn start(watch: &Watch) -> Sampler {
        let all: Vec<u32> = watch
            .servers
            .iter()
            .chain(&watch.auxiliary)
            .copied()
            .collect();
        let ticks_at_start = all
            .iter()
            .filter_map(|&pid| Some((pid, cpu_ticks(pid)?)))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let servers = watch.servers.clone();
        let stop_flag = Arc::clone(&stop);
        let rss_thread = std::thread::spawn(move || {
            let mut max_rss: HashMap<u32, u64> = HashMap::new();
            loop {
                for &pid in &servers {
                    if let Some(rss) = rss_kib(pid) {
                        let entry = max_rss.entry(pid).or_default();
                        *entry = (*entry).max(rss);
                    }
                }
                if stop_flag.load(Ordering::Relaxed) {
                    return max_rss;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
        Sampler {
            watch: watch.clone(),
            ticks_at_start,
            stop,
            rss_thread,
        }
    }

    /// Stops sampling and returns the usage since [`Sampler::start`].
    pub fn finish(self) -> Usage {
        let per_second = clock_ticks_per_second();
        let spent = |pids: &[u32]| -> f64 {
            let ticks: u64 = pids
                .iter()
                .filter_map(|pid| {
                    let before = self.ticks_at_start.get(pid)?;
                    Some(cpu_ticks(*pid)?.saturating_sub(*before))
                })
                .sum();
            ticks as f64 / per_second
        };
        let server_cpu_secs = spent(&self.watch.servers);
        let auxiliary_cpu_secs = spent(&self.watch.auxiliary);
        self.stop.store(true, Ordering::Relaxed);
        let max_rss = self.rss_thread.join().unwrap_or_default();
        Usage {
            server_cpu_secs,
            auxiliary_cpu_secs,
            max_server_rss_kib: max_rss.values().copied().max().unwrap_or(0),
        }
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (which may contain spaces and
/// parentheses, so we cut at the last `)`); index 0 is field 3 (state).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of `pid` (all its threads), in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    // Fields 14 (utime) and 15 (stime) of proc(5).
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Direct children of `pid` (nginx workers of a master, for instance).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&candidate| {
            stat_fields(candidate)
                .and_then(|fields| fields.get(1)?.parse::<u32>().ok())
                .is_some_and(|parent| parent == pid)
        })
        .collect()
}

/// `sysconf(_SC_CLK_TCK)` through `getconf` (no `unsafe`); 100 on every common Linux.
pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .filter(|&ticks: &f64| ticks > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|rss| rss > 0));
        assert!(cpu_ticks(pid).is_some());
        assert!(clock_ticks_per_second() > 0.0);
    }
}
