//! Facts about the machine and the checkout, for the report header.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// The header facts.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `uname -srm`.
    pub kernel: String,
    /// Host name.
    pub hostname: String,
    /// Online CPUs.
    pub cores: usize,
    /// First `model name` in `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `MemTotal` in GiB.
    pub memory_gib: f64,
    /// `git rev-parse --short HEAD`, with `+dirty` when the work tree has changes.
    pub commit: String,
}

impl Machine {
    /// Reads everything; unknown facts become `"unknown"`.
    pub fn read(repo_root: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0);
        let commit = command_line(repo_root, "git", &["rev-parse", "--short", "HEAD"]);
        let dirty = !command_line(repo_root, "git", &["status", "--porcelain"]).is_empty();
        Machine {
            kernel: command_line(repo_root, "uname", &["-srm"]),
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|name| name.trim().to_owned())
                .unwrap_or_default(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model: cpuinfo
                .lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map_or_else(
                    || "unknown".to_owned(),
                    |(_, model)| model.trim().to_owned(),
                ),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            commit: if dirty && !commit.is_empty() {
                format!("{commit}+dirty")
            } else {
                commit
            },
        }
    }
}

/// `/proc/loadavg`'s three load averages, as printed.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn command_line(dir: &Path, program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}
