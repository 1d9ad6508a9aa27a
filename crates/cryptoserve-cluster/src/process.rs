//! Signals and PID checks for the processes the launcher starts.
//!
//! Signals go through the `kill` command rather than `libc::kill`, which keeps the crate free
//! of `unsafe`; the cost (one fork per signal) does not matter here. Liveness is read from
//! `/proc`, so this module is Linux-only, like the rest of the launcher's PID handling.

use std::process::Command;

use crate::error::{io_err, ClusterError, Result};

/// Runs a one-shot command to completion; its stdout on success, else
/// [`ClusterError::CommandFailed`] with its stderr. `line` names it in errors.
pub fn stdout_of(command: &mut Command, line: String) -> Result<String> {
    let output = command
        .output()
        .map_err(io_err(format!("running {line}")))?;
    if !output.status.success() {
        return Err(ClusterError::CommandFailed {
            command: line,
            status: output.status.to_string(),
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Sends `signal` (a name such as `TERM`, `KILL`, `INT`) to `pid`.
pub fn send_signal(pid: u32, signal: &str) -> Result<()> {
    let output = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .output()
        .map_err(io_err(format!("running kill -s {signal} {pid}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(ClusterError::CommandFailed {
        command: format!("kill -s {signal} {pid}"),
        status: output.status.to_string(),
        output: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Whether `pid` names a running (not zombie) process.
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the command name, which is in parentheses and may itself
        // contain spaces or parentheses, so look after the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether `pid` is alive and its command line mentions `needle` (guards against signalling
/// an unrelated process that reused a PID from an old state file).
pub fn is_alive_running(pid: u32, needle: &str) -> bool {
    if !is_alive(pid) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            String::from_utf8_lossy(&raw)
                .replace('\0', " ")
                .contains(needle)
        })
        .unwrap_or(false)
}

/// Polls until `pid` is gone or `timeout` passes; returns whether it is gone.
pub fn wait_for_exit(pid: u32, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if !is_alive(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    !is_alive(pid)
}
